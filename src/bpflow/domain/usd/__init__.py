"""Stage 2 (usd-assembly-pipeline): the USD work of its jobs.

The jobs (``bpflow.jobs.usd_assembly``, ``simready``, ``interactive``, ``replicator``,
``isaac_lab``) stay thin: they read their env, call the builders here and write outputs. The
modules are split by the one question each answers: where a job may read and write
(``prefixes``, ``workspace``, ``inputs``), where an object's files are (``object_files``), what
each object becomes (``convert``, ``simready``, ``interactive``, ``asset_parts``, ``meshes``), how
the scene is composed and checked (``usd_util``, ``room_shell``, ``assemble``, ``checks``,
``scene_read``, ``swing``), and the gates (``interactive_gate``, ``physics_gate``). The scene
model they read (manifest, layout, poses, densities, boxes) is ``bpflow.domain.scene``; the
downstream packages are ``bpflow.domain.replicator`` and ``bpflow.domain.isaaclab``.
"""

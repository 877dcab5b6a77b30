"""Stage 2 (usd-assembly-pipeline) building blocks shared by its jobs.

The jobs (``bpflow.jobs.usd_assembly``, ``simready``, ``interactive``, ``replicator``,
``isaac_lab``) stay thin: they read their env, call the builders here and write outputs. The
modules are split by the one question each answers: where a job may read and write
(``env``, ``workspace``), what the Stage-1 inputs say (``manifest``, ``layout``, ``assets``),
where an object goes (``placement``), what it weighs and how it collides (``density``,
``surface``, ``collision``, ``simready``), what moves (``articulation``, ``interactive``),
how the scene is composed and checked (``usd_util``, ``room``, ``assemble``, ``checks``,
``obb``), and what the downstream packages contain (``replicator``, ``spawn``, ``isaac_task``).
"""

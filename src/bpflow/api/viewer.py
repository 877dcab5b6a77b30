"""The 3D scene viewer and the scene thumbnails.

``/scenes/<id>/viewer`` is a page that loads ``scene.glb`` (the scene's ``usd/scene.usda``
converted server-side by :mod:`bpflow.domain.viewer`, cached per USD generation) into three.js,
vendored in the package. ``/scenes/<id>/thumbnail.png`` is the same scene drawn on the CPU for
the scenes list. Both answer 404 ``scene_usd_missing`` until the assembly has written the USD.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from bpflow.core.triggers import validate_scene_id
from bpflow.domain.viewer.cache import SceneUsdMissing, ViewerCache
from bpflow.domain.viewer.thumbnail import placeholder_png

if TYPE_CHECKING:
    from collections.abc import Callable

    from bpflow.core.engine.runtime import Runtime


def viewer_router(rt: Runtime, page: Callable[..., HTMLResponse]) -> APIRouter:
    router = APIRouter(tags=["viewer"])
    cache = ViewerCache(rt.bucket, rt.settings.home / "cache" / "viewer")

    def cached_file(path: str, media_type: str, generation: int) -> FileResponse:
        # the URL stays the same across re-assemblies: revalidate, the ETag is the USD's generation
        return FileResponse(
            path, media_type=media_type, headers={"cache-control": "no-cache", "etag": f'"{generation}"'}
        )

    @router.get("/scenes/{scene_id}/viewer", response_class=HTMLResponse, summary="The assembled scene in 3D")
    def viewer_page(request: Request, scene_id: str) -> HTMLResponse:
        validate_scene_id(scene_id)
        usd = rt.bucket.stat(f"scenes/{scene_id}/usd/scene.usda")
        return page(request, "viewer.html", scene_id=scene_id, usd=usd)

    @router.get("/scenes/{scene_id}/viewer/scene.glb", summary="The assembled scene as binary glTF")
    def scene_glb(scene_id: str) -> FileResponse:
        got = cache.glb(validate_scene_id(scene_id))
        return cached_file(str(got.path), "model/gltf-binary", got.generation)

    @router.get("/scenes/{scene_id}/thumbnail.png", summary="A still picture of the assembled scene")
    def thumbnail(scene_id: str, fallback: bool = False) -> Response:
        """``fallback=true`` (the scenes list): a blank picture instead of a 404 before the USD exists."""
        try:
            got = cache.thumbnail(validate_scene_id(scene_id))
        except SceneUsdMissing:
            if not fallback:
                raise
            return Response(
                placeholder_png(),
                media_type="image/png",
                headers={"cache-control": "no-cache", "x-bpflow-thumbnail": "none"},
            )
        return cached_file(str(got.path), "image/png", got.generation)

    return router

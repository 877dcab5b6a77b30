"""Contact properties by material: static/dynamic friction and restitution for PhysicsMaterialAPI.

Friction values are the dry-contact coefficients of Engineering ToolBox "Friction and Friction
Coefficients" for the material against wood or steel (the surfaces a robot puts things on),
rounded; restitution is from drop tests on hard floors (wood ~0.4-0.6 for solid blocks, glass
and ceramic ~0.3-0.5 before breaking, fabric and foam near 0), lowered for hollow objects that
absorb impacts. PhysX's own default material is 0.5 / 0.5 / 0, which ``DEFAULT`` stays close to.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Surface:
    static_friction: float
    dynamic_friction: float
    restitution: float


SURFACES: dict[str, Surface] = {
    "steel": Surface(0.6, 0.45, 0.2),
    "stainless_steel": Surface(0.55, 0.4, 0.2),
    "iron": Surface(0.6, 0.45, 0.15),
    "aluminum": Surface(0.6, 0.45, 0.2),
    "metal": Surface(0.6, 0.45, 0.2),
    "wood": Surface(0.5, 0.4, 0.3),
    "hardwood": Surface(0.5, 0.4, 0.3),
    "softwood": Surface(0.5, 0.4, 0.3),
    "mdf": Surface(0.5, 0.4, 0.25),
    "plywood": Surface(0.5, 0.4, 0.25),
    "plastic": Surface(0.4, 0.3, 0.35),
    "abs": Surface(0.4, 0.3, 0.35),
    "glass": Surface(0.5, 0.4, 0.2),
    "ceramic": Surface(0.55, 0.45, 0.15),
    "porcelain": Surface(0.55, 0.45, 0.15),
    "stone": Surface(0.6, 0.5, 0.1),
    "marble": Surface(0.55, 0.45, 0.1),
    "concrete": Surface(0.7, 0.6, 0.1),
    "rubber": Surface(1.0, 0.8, 0.6),
    "leather": Surface(0.6, 0.5, 0.1),
    "paper": Surface(0.45, 0.35, 0.05),
    "cardboard": Surface(0.5, 0.4, 0.05),
    "fabric": Surface(0.6, 0.5, 0.02),
    "foam": Surface(0.8, 0.7, 0.05),
    "food": Surface(0.5, 0.4, 0.1),
}
DEFAULT = Surface(0.5, 0.45, 0.1)


def surface_for(material: str) -> Surface:
    return SURFACES.get(material, DEFAULT)

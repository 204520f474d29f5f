"""Isaac Lab's classic assets written locally, for machines that cannot reach NVIDIA's asset server.

Isaac Lab loads its robots and scenes from `ISAACSIM_ASSET_ROOT` (NVIDIA's server by default). This module
authors, with OpenUSD's own API, the two files the Isaac Lab cartpole tasks (`Isaac-Cartpole`,
`Isaac-Cartpole-Direct`) load — a ground plane and the cartpole articulation, with Isaac's joint names
`slider_to_cart` and `cart_to_pole` and its sizes and masses — under the paths Isaac Lab expects:

    python -m envs.isaaclab_assets DIR       # then: ISAACSIM_ASSET_ROOT=DIR python train.py --task Isaac-Cartpole

Real physics (Newton's MuJoCo-Warp solver) on a locally made robot; users with network access use Isaac
Lab's real assets unchanged. The velocity tasks' robots (AnymalD, Go2, G1, H1) are not written here.
Needs `pxr` (usd-core, installed with Isaac Lab).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

CARTPOLE = "Isaac/IsaacLab/Robots/Classic/Cartpole/cartpole.usd"
GROUND_PLANE = "Isaac/IsaacLab/Environments/Grid/default_ground_plane_checker_v1/default_ground_plane.usda"
ASSET_ROOT_VARIABLE = "ISAACSIM_ASSET_ROOT"


def write_ground_plane(path: Path) -> None:
    """A static collision plane (Isaac Lab's ground-plane spawner binds its material to the `Plane` prim)."""
    from pxr import Usd, UsdGeom, UsdPhysics

    stage = Usd.Stage.CreateNew(str(path))
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.z)
    UsdGeom.SetStageMetersPerUnit(stage, 1.0)
    root = UsdGeom.Xform.Define(stage, "/GroundPlane")
    stage.SetDefaultPrim(root.GetPrim())
    plane = UsdGeom.Plane.Define(stage, "/GroundPlane/CollisionPlane")
    plane.CreateAxisAttr(UsdGeom.Tokens.z)
    plane.CreateWidthAttr(100.0)
    plane.CreateLengthAttr(100.0)
    UsdPhysics.CollisionAPI.Apply(plane.GetPrim())
    stage.GetRootLayer().Save()


def _body(stage, path: str, size: tuple[float, float, float], offset: tuple[float, float, float], mass: float):
    """A rigid body with one box (visual only: the cartpole's links never touch anything) and its inertia."""
    from pxr import Gf, UsdGeom, UsdPhysics

    body = UsdGeom.Xform.Define(stage, path)
    UsdPhysics.RigidBodyAPI.Apply(body.GetPrim())
    mass_api = UsdPhysics.MassAPI.Apply(body.GetPrim())
    mass_api.CreateMassAttr(mass)
    x, y, z = size
    mass_api.CreateDiagonalInertiaAttr(Gf.Vec3f(y * y + z * z, x * x + z * z, x * x + y * y) * (mass / 12.0))
    mass_api.CreateCenterOfMassAttr(Gf.Vec3f(*offset))
    box = UsdGeom.Cube.Define(stage, f"{path}/visual")
    box.CreateSizeAttr(1.0)
    box.AddTranslateOp().Set(Gf.Vec3d(*offset))
    box.AddScaleOp().Set(Gf.Vec3f(*size))
    return body


def write_cartpole(path: Path) -> None:
    """Isaac's cartpole: a fixed 8 m rail (`slider`), a 1 kg cart on it (prismatic `slider_to_cart`, along y,
    ±4 m) and a 1 kg, 1 m pole hinged on the cart (revolute `cart_to_pole`, about x, unlimited)."""
    from pxr import Gf, Usd, UsdGeom, UsdPhysics

    stage = Usd.Stage.CreateNew(str(path))
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.z)
    UsdGeom.SetStageMetersPerUnit(stage, 1.0)
    UsdPhysics.SetStageKilogramsPerUnit(stage, 1.0)
    root = UsdGeom.Xform.Define(stage, "/cartpole")
    stage.SetDefaultPrim(root.GetPrim())
    UsdPhysics.ArticulationRootAPI.Apply(root.GetPrim())

    _body(stage, "/cartpole/slider", (0.03, 8.0, 0.03), (0.0, 0.0, 0.0), 1.0)
    _body(stage, "/cartpole/cart", (0.2, 0.5, 0.2), (0.0, 0.0, 0.0), 1.0)
    pole = _body(stage, "/cartpole/pole", (0.04, 0.06, 1.0), (0.0, 0.0, 0.47), 1.0)
    pole.AddTranslateOp().Set(Gf.Vec3d(0.12, 0.0, 0.0))

    fixed = UsdPhysics.FixedJoint.Define(stage, "/cartpole/root_joint")  # the rail, welded to the world
    fixed.CreateBody1Rel().SetTargets(["/cartpole/slider"])

    slider = UsdPhysics.PrismaticJoint.Define(stage, "/cartpole/slider_to_cart")
    slider.CreateBody0Rel().SetTargets(["/cartpole/slider"])
    slider.CreateBody1Rel().SetTargets(["/cartpole/cart"])
    slider.CreateAxisAttr(UsdPhysics.Tokens.y)
    slider.CreateLowerLimitAttr(-4.0)
    slider.CreateUpperLimitAttr(4.0)

    hinge = UsdPhysics.RevoluteJoint.Define(stage, "/cartpole/cart_to_pole")
    hinge.CreateBody0Rel().SetTargets(["/cartpole/cart"])
    hinge.CreateBody1Rel().SetTargets(["/cartpole/pole"])
    hinge.CreateAxisAttr(UsdPhysics.Tokens.x)
    hinge.CreateLocalPos0Attr(Gf.Vec3f(0.12, 0.0, 0.0))
    stage.GetRootLayer().Save()


def write_assets(root: str | os.PathLike) -> Path:
    """Write the cartpole tasks' assets under `root` (idempotent); returns the root to set as
    ISAACSIM_ASSET_ROOT."""
    root = Path(root).absolute()
    for relative, write in ((GROUND_PLANE, write_ground_plane), (CARTPOLE, write_cartpole)):
        path = root / relative
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            write(path)
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("root", help="folder to write the assets into (then set ISAACSIM_ASSET_ROOT to it)")
    root = write_assets(parser.parse_args().root)
    print(f"[cppo] Isaac Lab cartpole assets written; use them with: export {ASSET_ROOT_VARIABLE}={root}")


if __name__ == "__main__":
    main()

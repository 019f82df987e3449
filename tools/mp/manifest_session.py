# What `micro15118 deploy --app session` copies to a board: both roles' board
# manifests (the charger's and the vehicle's apps, the link layers, the EXI
# codec and its grammar tables), the simulation models no board image
# freezes (micro15118/sim: power path, battery), and the session scripts.
# Files on a file system, not frozen: this is a bench check of a board.
include("../../boards/manifests/core.py", charger=True, vehicle=True)   # first: both roles' link sides
include("../../boards/manifests/charger.py")
include("../../boards/manifests/vehicle.py")
package("micro15118/sim", base_path="../../firmware")
module("secc_timing.py")
module("session_main.py")

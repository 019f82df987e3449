# Vehicle (EVCC) image: micro15118.evcc_main and what it imports.
#   make -C ports/<port> FROZEN_MANIFEST=<this file>   (or tools/build_image.py vehicle)
#   run: micropython -m micro15118.evcc_main vehicle --board board.json
include("core.py", vehicle=True)
include("iso20.py")
package("micro15118", files=["evcc_main.py", "vehicle_app.py", "iso20/vehicle.py"], base_path="../../firmware")
package("micro15118/iso20/evcc", base_path="../../firmware")

# Charger (SECC) image: micro15118.secc_main and what it imports.
#   make -C ports/<port> FROZEN_MANIFEST=<this file>   (or tools/build_image.py charger)
#   run: micropython -m micro15118.secc_main charger --board board.json
include("core.py", charger=True)
include("iso20.py")
package(
    "micro15118",
    files=["secc_main.py", "charger_app.py", "iso20/charger.py", "iso20/envelope.py", "iso20/sap.py"],
    base_path="../../firmware",
)
package("micro15118/iso20/secc", base_path="../../firmware")

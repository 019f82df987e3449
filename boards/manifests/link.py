# Link bring-up image: micro15118.link_main (pilot, SLAC, SDP, TCP up to the
# V2GTP connection, no -20 session), either role.
#   make -C ports/<port> FROZEN_MANIFEST=<this file>   (or tools/build_image.py link)
#   run: micropython -m micro15118.link_main charger|vehicle --board board.json
include("core.py", charger=True, vehicle=True)
module("micro15118/link_main.py", base_path="../../firmware")

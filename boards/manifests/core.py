# The core every board image freezes: board layer, pilot, QCA7000 driver,
# SLAC, IPv6/UDP/TCP, SDP, V2GTP, the link runner and the apps' drive loop, plus one role's link
# side (options charger=True / vehicle=True; the link bring-up takes both);
# and the host link with TLS mode (hostlink/, hostend.py, link/tls.py) and
# the SE050 driver that signs the host's TLS handshakes.
# Included once per image by charger.py, vehicle.py, link.py.
# Never micro15118/sim: that is the simulation's, not a board's.
options.defaults(charger=False, vehicle=False)

package(
    "micro15118",
    files=[
        "__init__.py",
        "compat.py",
        "appkit.py",
        "drive.py",
        "boardsetup.py",
        "pilot.py",
        "sdp.py",
        "v2gtp.py",
        "link/__init__.py",
        "link/base.py",
        "link/common.py",
        "link/runner.py",
        "link/tls.py",
        "hostend.py",
        "hostlink/__init__.py",
        "hostlink/frame.py",
        "hostlink/link.py",
        "hostlink/msg.py",
        "hostlink/port.py",
        "slac/__init__.py",
        "slac/keys.py",
        "slac/mme.py",
        "slac/linkmon.py",
        "slac/role.py",
    ],
    base_path="../../firmware",
)
# the MCU drivers; drivers/linux_packet and pilot_fixed serve a Linux MPU
# board, which runs the unix port from files (boards/linux-qca7000)
package(
    "micro15118",
    files=["drivers/__init__.py", "drivers/qca7000.py", "drivers/qcafrm.py", "drivers/spibus.py",
           "drivers/pilot_hw.py", "drivers/se050.py", "drivers/se050t1.py", "drivers/se050curves.py"],
    base_path="../../firmware",
)
package("micro15118/net", base_path="../../firmware")

if options.charger:
    package("micro15118", files=["link/charger.py", "slac/evse.py"], base_path="../../firmware")
if options.vehicle:
    package("micro15118", files=["link/vehicle.py", "slac/ev.py"], base_path="../../firmware")

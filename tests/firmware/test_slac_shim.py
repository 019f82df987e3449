"""The SLAC shim (host/harness/slac_shim.py) routes what the modem answers."""
from micro15118.slac import mme

from host.harness.slac_shim import Net, mac


def test_shim_routes_set_key_to_the_modem():
    net = Net()

    class Host:
        host_mac = mac(1)
        tx = []
        dropped = 0

        def handle_frame(self, f, now):
            self.got = f

        def poll(self, now):
            pass

        def next_deadline(self):
            return None

    h = Host()
    h.tx = [mme.set_key_req(h.host_mac, b"\x01" * 7, b"\x02" * 16)]
    node = net.add(h, "ev", 1)
    net.run(10)
    assert node.nid == b"\x01" * 7 and node.set_keys == 1
    assert mme.parse(h.got).mmtype == mme.CM_SET_KEY_CNF

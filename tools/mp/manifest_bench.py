# The whole micro15118 package frozen, simulation models and every grammar
# table included: what tools/bench_mcu.py runs its in-process sessions and
# its link sessions on (both roles and the simulated board in one image).
# Not a board's manifest: boards/manifests/ freezes a role without the
# simulation.
package("micro15118", base_path="../../firmware")
# the in-process session, frozen too: compiling it on the target would cost heap
module("secc_timing.py")

"""MicroPython images with the firmware frozen, built and run from the host.

- ``checkout`` - the repository checkout the manifests and firmware come from
- ``source`` - the MicroPython v1.28.0 source tree (a given path, a tarball, the release)
- ``ports`` - the images we build: unix32, unix64, qemu-m3, qemu-m7
- ``build`` - make mpy-cross, then a port with one role's manifest frozen
- ``qemu`` - run a script on a Cortex-M image under qemu-system-arm
- ``check`` - what a fresh image must do: its app imports frozen, the simulation does not
"""

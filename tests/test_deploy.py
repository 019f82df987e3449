# micro15118 deploy / console / emulate: what an app copies (its manifest's
# modules as .mpy, nothing else), the mpremote command line, the per-board
# image manifests for the upstream ports, and end to end: `micro15118
# deploy` over a pty to the emulated board (MicroPython's qemu port, stock
# image with littlefs on a RAM disk), then the in-process session runs there
# from the deployed .mpy files to SessionStop.  The image is built when
# missing or stale; on a machine without the MicroPython source (and no
# network to the upstream release) the tests that need it report skipped.
import importlib.util
import json
import os
import pathlib
import signal
import subprocess
import sys

import pytest

from host.firmware import deploy, emulator, source

ROOT = pathlib.Path(__file__).resolve().parent.parent
ROLE_APPS = ("charger", "vehicle", "link")


def tree():
    try:
        return source.source_tree(str(ROOT), None, lambda *words: None)
    except source.SourceUnavailable as e:
        pytest.skip(str(e))


def _stand_in():
    """tests/test_manifests.py's reading of the manifest API, independent of
    MicroPython's tools/manifestfile.py that deploy uses."""
    spec = importlib.util.spec_from_file_location("_manifests", ROOT / "tests" / "test_manifests.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.StandIn


def frozen_set(manifest):
    m = _stand_in()()
    m.run(str(manifest))
    return m.files      # {"micro15118/x.py": source}


# --- the file set ----------------------------------------------------------

@pytest.mark.parametrize("app", sorted(deploy.APPS))
def test_deployed_set_is_the_manifests_set_as_mpy(app):
    files = deploy.deployed_files(tree(), str(ROOT), app)
    expected = frozen_set(ROOT / deploy.APPS[app].manifest)
    assert set(files) == {"lib/" + t[:-3] + ".mpy" for t in expected}
    for path, (src, _) in files.items():
        assert os.path.samefile(src, expected[path[4:-4] + ".py"])
    sim = [p for p in files if p.startswith("lib/micro15118/sim/")]
    if app == "session":
        assert sim and "lib/secc_timing.mpy" in files and "lib/session_main.mpy" in files
    else:
        assert not sim          # the simulation is no board's


def test_session_set_is_both_roles_plus_the_simulation():
    files = set(deploy.deployed_files(tree(), str(ROOT), "session"))
    for role in ("charger", "vehicle"):
        role_files = set(deploy.deployed_files(tree(), str(ROOT), role))
        assert role_files <= files, sorted(role_files - files)


def test_stage_compiles_every_module_and_writes_settings_and_main(tmp_path):
    from host.firmware import build
    t = tree()
    build.mpy_cross(t, 2, lambda *a: None)
    board = deploy.load_board(str(ROOT), "rp2040-qca7000")
    st = deploy.stage(str(ROOT), t, board, "vehicle", deploy.mpy_cross_path(t), str(tmp_path / "s"))
    on_disk = {str(p.relative_to(tmp_path / "s")).replace(os.sep, "/")
               for p in (tmp_path / "s").rglob("*") if p.is_file()}
    modules = set(deploy.deployed_files(t, str(ROOT), "vehicle"))
    assert on_disk == modules | {"board.json", "deploy.json", "main.py"}
    assert set(st.files) == modules | {"board.json"}
    for p in modules:
        assert (tmp_path / "s" / p).read_bytes()[:2] == b"M\x06"       # .mpy v6
    sent = json.loads((tmp_path / "s" / "deploy.json").read_text())
    assert sent["files"] == st.files and sent["module"] == "micro15118.evcc_main"
    assert json.loads((tmp_path / "s" / "board.json").read_text())["spi_id"] == 0
    main = (tmp_path / "s" / "main.py").read_text()
    assert "evcc_main.main(['vehicle', '--board', 'board.json'])" in main
    assert st.owned == ("micro15118",)
    frozen = deploy.stage(str(ROOT), t, board, "vehicle", deploy.mpy_cross_path(t),
                          str(tmp_path / "f"), frozen=True)
    assert set(frozen.files) == {"board.json"} and frozen.owned == ("micro15118",)
    assert not (tmp_path / "f" / "lib").exists()


# --- boards and the command line ---------------------------------------------

def test_only_boards_with_a_serial_repl_take_a_deploy():
    assert deploy.load_board(str(ROOT), "qemu-m3")["filesystem"] == "ram"
    assert deploy.default_app(deploy.load_board(str(ROOT), "esp32s3-qca7000")) == "charger"
    assert deploy.default_app(deploy.load_board(str(ROOT), "rp2040-qca7000")) == "vehicle"
    assert deploy.default_app(deploy.load_board(str(ROOT), "qemu-m3")) == "session"
    for name in ("linux-qca7000", "sim", "no-such-board"):
        with pytest.raises(ValueError):
            deploy.load_board(str(ROOT), name)


def _stage(frozen=False):
    files = {"lib/micro15118/__init__.mpy": 100, "lib/secc_timing.mpy": 50, "board.json": 20}
    if frozen:
        files = {"board.json": 20}
    return deploy.Stage("/s", "session", files, (6, 3), ("micro15118", "secc_timing.mpy"), frozen)


def test_mpremote_command_line():
    ram = {"name": "qemu-m3", "filesystem": "ram"}
    argv = deploy.deploy_argv("/dev/pts/7", ram, _stage())
    assert argv[:5] == [sys.executable, "-m", "mpremote", "connect", "/dev/pts/7"]
    steps = [s.split() for s in " ".join(a if "\n" not in a else "CODE" for a in argv[5:]).split(" + ")]
    assert steps == [
        ["exec", "CODE"],
        ["fs", "cp", "-f", "-r", "/s/lib", ":"],
        ["fs", "cp", "-f", "/s/board.json", ":board.json"],
        ["fs", "cp", "-f", "/s/deploy.json", ":deploy.json"],
        ["exec", "CODE"],                                   # the check, before main.py
        ["fs", "cp", "-f", "/s/main.py", ":main.py"],
        ["exec", "--no-follow", "CODE"],
    ]
    assert argv[6].startswith(deploy.FORMAT_RAM)            # the emulated board's disk, fresh
    flash = deploy.deploy_argv(None, {"name": "esp32s3-qca7000"}, _stage(), start=False)
    assert flash[4] == "auto" and flash[6].startswith(deploy.BOOT) and "--no-follow" not in flash
    frozen = deploy.deploy_argv("/dev/ttyACM0", {"name": "x"}, _stage(frozen=True))
    assert "/s/lib" not in frozen
    assert deploy.stop_argv("/dev/ttyACM0")[-1] == "soft-reset"
    assert deploy.start_argv("/dev/ttyACM0")[-3:] == ["exec", "--no-follow", deploy.START]


def test_board_side_code_compiles():
    # MicroPython's syntax here is CPython's: a typo shows before a board sees it
    prepare = deploy.prepare_code({"name": "x"}, _stage())
    assert "'lib/micro15118'" in prepare and "'main.py'" in prepare
    for code in (deploy.BOOT, deploy.FORMAT_RAM, prepare, deploy.CHECK, deploy.START):
        compile(code, "<board>", "exec")
    for app in deploy.APPS.values():
        compile(app.main_py({"name": "x", "role": "evse"}), "main.py", "exec")


def test_cli_lists_the_commands():
    from host.cli import build_parser
    help_text = build_parser().format_help()
    for command in ("deploy", "console", "emulate"):
        assert command in help_text


# --- per-board manifests for the upstream ports -------------------------------

REAL_BOARDS = {"esp32s3-qca7000": "charger", "rp2040-qca7000": "vehicle", "stm32f4-qca7000": "charger"}


@pytest.mark.parametrize("board,role", sorted(REAL_BOARDS.items()))
def test_board_manifest_keeps_the_ports_own_and_adds_a_role(board, role, tmp_path):
    """The wrapper a real board's upstream build takes as FROZEN_MANIFEST:
    the port's default manifest (its _boot.py mounts the file system) and
    one role's manifest, run by MicroPython's manifest tool with a stand-in
    port directory."""
    mf = deploy._manifestfile(tree())
    port = tmp_path / "port"
    (port / "boards").mkdir(parents=True)
    (port / "modules").mkdir()
    (port / "modules" / "_boot.py").write_text("# the port's\n")
    (port / "boards" / "manifest.py").write_text('freeze("$(PORT_DIR)/modules")\n')
    m = mf.ManifestFile(mf.MODE_FREEZE, {"MPY_DIR": str(tmp_path), "PORT_DIR": str(port),
                                         "BOARD_DIR": str(tmp_path), "MPY_LIB_DIR": None})
    m.execute(str(ROOT / "boards" / board / "manifest.py"))
    targets = {f.target_path for f in m.files()}
    assert "_boot.py" in targets
    ours = {t for t in targets if t != "_boot.py"}
    assert ours == set(frozen_set(ROOT / "boards" / "manifests" / (role + ".py")))
    other = tmp_path / "other.py"       # the other role, by option
    other_role = "vehicle" if role == "charger" else "charger"
    other.write_text('include(%r, role=%r)\n' % (str(ROOT / "boards" / board / "manifest.py"), other_role))
    m = mf.ManifestFile(mf.MODE_FREEZE, {"MPY_DIR": str(tmp_path), "PORT_DIR": str(port),
                                         "BOARD_DIR": str(tmp_path), "MPY_LIB_DIR": None})
    m.execute(str(other))
    assert "micro15118/%s_main.py" % ("evcc" if other_role == "vehicle" else "secc") in {
        f.target_path for f in m.files()}


# --- end to end on the emulated board -----------------------------------------

def run_cli(*args, timeout=300):
    """The installed command, in its own process group: killed with all it
    started (mpremote) if it overruns."""
    proc = subprocess.Popen([sys.executable, "-m", "host.cli"] + list(args), cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        pytest.fail("`micro15118 %s` took over %d s:\n%s" % (" ".join(args), timeout, out[-3000:]))
    return proc.returncode, out


SESSION_STATES = ["SupportedAppProtocol", "SessionSetup", "AuthorizationSetup", "Authorization",
                  "ServiceDiscovery", "ServiceDetail", "ServiceSelection", "ChargeParameterDiscovery",
                  "ScheduleExchange", "CableCheck", "PreCharge", "ChargeLoop", "WeldingDetection",
                  "SessionStop"]

LIST_BOARD = """
import os, sys, session_main, secc_timing
import micro15118.iso20.secc.session as secc
def walk(p):
    for n in sorted(os.listdir(p)):
        q = p + '/' + n
        if os.stat(q)[0] & 0x4000:
            walk(q)
        else:
            print('FILE', q[1:])
walk('/lib')
print('MACHINE', sys.implementation._machine)
print('FROM', session_main.__file__, secc_timing.__file__, secc.__file__)
"""


def session_evidence(out):
    """The SECC's states in order, and the lines that say how it ended."""
    states = [line.split()[2] for line in out.splitlines() if line.startswith("SECC state ")]
    # each state once, in order (secc_timing makes a second connection: a repeated SAP)
    seen = []
    for s in states:
        if not seen or seen[-1] != s:
            seen.append(s)
    return seen


def test_deploy_to_the_emulated_board_then_the_session_runs_there_to_session_stop():
    tree()
    board = deploy.load_board(str(ROOT), "qemu-m3")
    elf = emulator.image(str(ROOT), board, print)
    with emulator.Emulator(elf, emulator.port_of(board).machine) as emu:
        # the check refuses a --frozen deploy to an image without the app frozen
        rc, out = run_cli("deploy", "--board", "qemu-m3", "--port", emu.port, "--app", "charger",
                          "--frozen", timeout=120)
        assert rc == 1 and "the image does not freeze it" in out, out[-2000:]

        rc, out = run_cli("deploy", "--board", "qemu-m3", "--port", emu.port, "--app", "session")
        assert rc == 0, out[-3000:]
        staged = json.loads((ROOT / "build" / "deploy" / "qemu-m3-session" / "deploy.json").read_text())
        assert "deploy check: %d files on the board as sent, session_main imports" \
            % len(staged["files"]) in out, out[-2000:]

        # deploy started it; its output waited in the pty
        rc, out = run_cli("console", "watch", "--port", emu.port, "--timeout", "120", timeout=180)
        assert rc == 0, out[-3000:]
        assert "SESSION dc_bpt dynamic discharge 3" in out
        assert "RESULT ('done', 'Terminate: 3 loops done')" in out, out[-3000:]
        assert session_evidence(out) == SESSION_STATES, out[-3000:]
        assert "SECC stopped terminate" in out and "SESSION_END ok" in out
        heap = [line for line in out.splitlines() if line.startswith("HEAP ")]
        assert heap and heap[0].endswith("total=%d" % 1024512), heap   # the board's 1 MiB heap

        # it ran on the Cortex-M3 from the deployed .mpy files, and the board
        # holds exactly the manifest's modules
        rc, out = run_cli("console", "stop", "--port", emu.port, timeout=60)
        assert rc == 0, out
        r = subprocess.run(deploy.mpremote_base(emu.port) + ["exec", deploy.BOOT + LIST_BOARD],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60)
        assert r.returncode == 0, r.stdout
        on_board = {line.split()[1] for line in r.stdout.splitlines() if line.startswith("FILE ")}
        assert on_board == set(deploy.deployed_files(tree(), str(ROOT), "session"))
        assert "Cortex-M3" in r.stdout
        assert ("FROM /lib/session_main.mpy /lib/secc_timing.mpy "
                "/lib/micro15118/iso20/secc/session.mpy") in r.stdout, r.stdout

        # console start runs main.py again, in the foreground with --follow
        rc, out = run_cli("console", "start", "--port", emu.port, "--follow", "--timeout", "120",
                          timeout=180)
        assert rc == 0 and "SESSION_END ok" in out and "the app ended" in out, out[-3000:]
        rc, out = run_cli("console", "stop", "--port", emu.port, timeout=60)
        assert rc == 0 and "stopped" in out, out
    assert emu.proc.poll() is not None      # qemu is gone

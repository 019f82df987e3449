"""Deploy one app to a board running stock MicroPython: its files compiled to
.mpy, copied with mpremote over the board's REPL, then started.

    stage = deploy.stage(root, tree, board, "charger", mpy_cross, out_dir, log)
    argv = deploy.deploy_argv(port, board, stage, start=True)
    deploy.mpremote(argv, log)          # (status, output)

What an app copies is what its manifest freezes (APPS: a role's manifest in
boards/manifests/, read by MicroPython's own tools/manifestfile.py, so the
set follows the manifest as it changes), each file compiled by the source
tree's mpy-cross into lib/ (on sys.path of every port); plus the board's
settings as board.json, deploy.json (what was sent, for the check) and
main.py, which a real port runs at power-up and `micro15118 console start`
runs on request.  All of them go to the root of the board's file system,
the directory the port boots in: / (esp32, rp2, the emulated board), /flash
(stm32).

The board side is one mpremote invocation (`connect PORT exec .. + fs cp ..
+ ..`): prepare (mount the emulated board's RAM disk; remove the previous
deploy; check the board's .mpy version and free space), copy, check every
file's size on the board, that `micro15118` imports from /lib (a frozen
copy would shadow it) and that the app's module imports, copy main.py last,
start.  To a board whose image freezes the app (boards/<board>/manifest.py)
frozen=True copies the settings and main.py only and checks the app is
frozen.
"""
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass

# The app's entry, as the lines of /main.py; {role}: "charger" or "vehicle"
# by the board's "role" (link bring-up runs either).
_APP_MAIN = {
    "charger": "from micro15118 import secc_main\nsecc_main.main(['charger', '--board', 'board.json'])\n",
    "vehicle": "from micro15118 import evcc_main\nevcc_main.main(['vehicle', '--board', 'board.json'])\n",
    "link": "from micro15118 import link_main\nlink_main.main(['{role}', '--board', 'board.json'])\n",
    "session": "import session_main\nsession_main.main([])\n",
}


@dataclass(frozen=True)
class App:
    name: str
    manifest: str       # relative to the checkout
    module: str         # what main.py runs, imported by the check
    what: str

    def main_py(self, board):
        role = "vehicle" if board.get("role") == "pev" else "charger"
        return ("# Written by `micro15118 deploy --board %s --app %s`: a board runs it at power-up,\n"
                "# `micro15118 console start` on request.  Remove it to keep the board at its REPL.\n"
                % (board["name"], self.name)) + _APP_MAIN[self.name].format(role=role)


APPS = {
    "charger": App("charger", "boards/manifests/charger.py", "micro15118.secc_main",
                   "the SECC (micro15118.secc_main)"),
    "vehicle": App("vehicle", "boards/manifests/vehicle.py", "micro15118.evcc_main",
                   "the EVCC (micro15118.evcc_main)"),
    "link": App("link", "boards/manifests/link.py", "micro15118.link_main",
                "the link bring-up (micro15118.link_main) in the board's role"),
    "session": App("session", "tools/mp/manifest_session.py", "session_main",
                   "the in-process session: SECC and EVCC in one interpreter on simulated "
                   "power (micro15118.sim), a bench check, no pins"),
}

# kinds of board deploy serves: a MicroPython REPL on a serial line
DEPLOYABLE = ("mcu", "emulated")


def boards_dir(root):
    return os.path.join(root, "boards")


def board_names(root):
    d = boards_dir(root)
    return sorted(n for n in os.listdir(d) if os.path.isfile(os.path.join(d, n, "board.json")))


def load_board(root, name):
    """boards/<name>/board.json as a dict; ValueError when there is none or
    deploy does not serve its kind."""
    path = os.path.join(boards_dir(root), name, "board.json")
    if not os.path.isfile(path):
        raise ValueError("no board %r (boards/%s/board.json); boards: %s"
                         % (name, name, ", ".join(board_names(root))))
    with open(path) as f:
        board = json.load(f)
    board["name"] = board.get("name", name)
    kind = board.get("kind")
    if kind not in DEPLOYABLE:
        raise ValueError("board %s is of kind %r: deploy copies files over a MicroPython REPL on a "
                         "serial port (kind %s); a Linux board runs the firmware from a checkout "
                         "(boards/README.md)" % (name, kind, " or ".join(DEPLOYABLE)))
    return board


def default_app(board):
    """The board's "app", else its role's: charger for "evse", vehicle for "pev"."""
    return board.get("app") or ("vehicle" if board.get("role") == "pev" else "charger")


# --- the file set ------------------------------------------------------------

def _manifestfile(tree):
    """MicroPython's tools/manifestfile.py from the source tree."""
    tools = os.path.join(tree, "tools")
    if tools not in sys.path:
        sys.path.insert(0, tools)
    import manifestfile
    return manifestfile


def manifest_files(tree, manifest):
    """[(source .py, target path "micro15118/x.py")] that manifest freezes,
    read by MicroPython's manifest tool as a port build does."""
    mf = _manifestfile(tree)
    m = mf.ManifestFile(mf.MODE_FREEZE, {"MPY_DIR": tree, "MPY_LIB_DIR": None, "PORT_DIR": None,
                                         "BOARD_DIR": None})
    try:
        m.execute(os.path.abspath(manifest))
    except mf.ManifestFileError as e:
        raise ValueError("manifest %s: %s" % (manifest, e))
    out = []
    for f in m.files():
        if f.kind != mf.KIND_FREEZE_AS_MPY or not f.target_path.endswith(".py"):
            raise ValueError("manifest %s: %s is no Python module to compile (deploy copies .py "
                             "modules only)" % (manifest, f.target_path))
        out.append((f.full_path, f.target_path.replace(os.sep, "/"), f.opt))
    return out


def deployed_files(tree, root, app):
    """{board path: (source, opt)} of app's modules: lib/<target>.mpy."""
    files = {}
    for source, target, opt in manifest_files(tree, os.path.join(root, APPS[app].manifest)):
        files["lib/" + target[:-len(".py")] + ".mpy"] = (source, opt)
    return files


# --- compiling ---------------------------------------------------------------

def mpy_cross_path(tree):
    return os.path.join(tree, "mpy-cross", "build", "mpy-cross")


def mpy_version(mpy_cross):
    """(major, sub) of the .mpy files mpy_cross writes ("... emitting mpy v6.3")."""
    out = subprocess.run([mpy_cross, "--version"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True, check=True).stdout
    m = re.search(r"mpy v(\d+)\.(\d+)", out)
    if not m:
        raise RuntimeError("%s --version names no mpy version: %r" % (mpy_cross, out.strip()))
    return int(m.group(1)), int(m.group(2))


@dataclass
class Stage:
    directory: str      # lib/, board.json, deploy.json, main.py as they go to the board's /
    app: str
    files: dict         # board path -> size, everything the check compares (not main.py)
    mpy: tuple          # (major, sub) .mpy version
    owned: tuple        # lib/ entries the app owns (removed first, also when frozen)
    frozen: bool        # the board's image freezes the app: settings and main.py only

    @property
    def bytes(self):
        return sum(self.files.values())


def _tops(paths):
    return tuple(sorted({p.split("/")[1] for p in paths if p.startswith("lib/")}))


def stage(root, tree, board, app, mpy_cross, directory, log=lambda *a: None, frozen=False):
    """Compile app's modules into directory (emptied first) with the board's
    settings, deploy.json and main.py: the tree deploy copies to the board's /.
    frozen: the board's image freezes the app (boards/<board>/manifest.py):
    no modules, only the settings and main.py."""
    if app not in APPS:
        raise ValueError("no app %r; apps: %s" % (app, ", ".join(APPS)))
    if os.path.isdir(directory):
        shutil.rmtree(directory)
    os.makedirs(directory)
    sizes = {}
    modules = deployed_files(tree, root, app)
    for path, (source, opt) in sorted(() if frozen else modules.items()):
        out = os.path.join(directory, *path.split("/"))
        os.makedirs(os.path.dirname(out), exist_ok=True)
        cmd = [mpy_cross, "-o", out, "-s", path[len("lib/"):-len(".mpy")] + ".py"]
        if opt is not None:
            cmd.append("-O%d" % opt)
        r = subprocess.run(cmd + [source], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if r.returncode:
            raise RuntimeError("mpy-cross failed on %s:\n%s" % (source, r.stdout))
        sizes[path] = os.path.getsize(out)
    settings = dict(board)
    with open(os.path.join(directory, "board.json"), "w") as f:
        json.dump(settings, f, indent=1, sort_keys=True)
        f.write("\n")
    sizes["board.json"] = os.path.getsize(os.path.join(directory, "board.json"))
    mpy = mpy_version(mpy_cross)
    with open(os.path.join(directory, "deploy.json"), "w") as f:
        json.dump({"board": board["name"], "app": app, "module": APPS[app].module, "frozen": frozen,
                   "mpy": "%d.%d" % mpy, "files": sizes}, f, indent=0, sort_keys=True)
    with open(os.path.join(directory, "main.py"), "w") as f:
        f.write(APPS[app].main_py(board))
    if frozen:
        log("%s: frozen in the board's image; board.json and main.py only" % app)
    else:
        log("%s: %d modules compiled to .mpy, %d bytes with board.json"
            % (app, len(sizes) - 1, sum(sizes.values())))
    return Stage(directory, app, sizes, mpy, _tops(modules), frozen)


# --- the board side ----------------------------------------------------------

# After every soft reset (mpremote does one when it connects): the emulated
# board mounts its RAM disk (boards/qemu-m3/ramdisk.py, frozen in its image);
# a real port mounted its flash at boot and has no such module.
BOOT = """\
try:
    import ramdisk
except ImportError:
    pass
else:
    ramdisk.mount()
"""

FORMAT_RAM = "import ramdisk\nramdisk.mount(format=True)\n"

# Paths on the board are relative to the directory a port boots in, the
# root of its file system: / on the esp32 and rp2 ports (and the emulated
# board), /flash on stm32 (whose sys.path has /flash/lib).
_PREPARE = """\
import os, sys
R = os.getcwd().rstrip('/')
def _rm(p):
    try:
        st = os.stat(p)
    except OSError:
        return
    if st[0] & 0x4000:
        for n in os.listdir(p):
            _rm(p + '/' + n)
        os.rmdir(p)
    else:
        os.remove(p)
for p in %(remove)r:
    _rm(R + '/' + p)
m = getattr(sys.implementation, '_mpy', 0) & 0x3ff
v = (m & 0xff, m >> 8)
if m and v != %(mpy)r:
    raise RuntimeError('this board loads .mpy v%%d.%%d, mpy-cross made v%%d.%%d: use the mpy-cross of '
                       'the MicroPython version the board runs' %% (v + %(mpy)r))
s = os.statvfs(R or '/')
free = s[0] * s[3]
need = %(bytes)d + %(count)d * s[0]
if free < need:
    raise OSError('not enough room on the board: %%d bytes free, the deploy needs about %%d' %% (free, need))
try:
    os.mkdir(R + '/lib')
except OSError:
    pass
print('deploy: board loads .mpy v%%d.%%d, %%d bytes free in %%s' %% (v + (free, R or '/')))
"""

CHECK = """\
import json, os
R = os.getcwd().rstrip('/')
with open(R + '/deploy.json') as f:
    d = json.load(f)
bad = []
for p, n in d['files'].items():
    try:
        size = os.stat(R + '/' + p)[6]
    except OSError:
        bad.append(p + ' missing')
        continue
    if size != n:
        bad.append('%s %d bytes, sent %d' % (p, size, n))
if bad:
    raise OSError('deploy check: ' + ', '.join(bad))
try:
    import micro15118
except ImportError:
    raise ImportError('micro15118 does not import: the image does not freeze it' if d['frozen']
                      else 'micro15118 does not import from %s/lib' % R)
f = getattr(micro15118, '__file__', '')
if d['frozen'] and f.startswith('/'):
    raise ImportError('micro15118 imports from %r: the image does not freeze it' % f)
if not d['frozen'] and not f.startswith(R + '/lib/'):
    raise ImportError('micro15118 imports from %r, not the deployed %s/lib: the image freezes it '
                      '(deploy --frozen)' % (f, R))
__import__(d['module'])
print('deploy check: %d files on the board as sent, %s imports' % (len(d['files']), d['module']))
"""

START = "import main\n"


def prepare_code(board, stage):
    """Remove what an earlier deploy left (main.py first: a board reset
    half-way must not start half an app), check the .mpy version and room."""
    remove = ["main.py", "deploy.json", "board.json"]
    for top in stage.owned:
        name = top[:-len(".mpy")] if top.endswith(".mpy") else top
        remove += ["lib/" + top, "lib/%s.py" % name, name, "%s.py" % name, "%s.mpy" % name]
    return _PREPARE % {"remove": remove, "mpy": stage.mpy, "bytes": stage.bytes,
                       "count": len(stage.files)}


def mpremote_base(port):
    """`python -m mpremote connect PORT`; no port: mpremote's auto (the first USB serial device)."""
    return [sys.executable, "-m", "mpremote", "connect", port or "auto"]


def deploy_argv(port, board, stage, start=True):
    """The one mpremote invocation that deploys stage to the board on port."""
    d = stage.directory
    first = FORMAT_RAM if board.get("filesystem") == "ram" else BOOT
    argv = mpremote_base(port) + ["exec", first + prepare_code(board, stage)]
    if not stage.frozen:
        argv += ["+", "fs", "cp", "-f", "-r", os.path.join(d, "lib"), ":"]
    argv += [
        "+", "fs", "cp", "-f", os.path.join(d, "board.json"), ":board.json",
        "+", "fs", "cp", "-f", os.path.join(d, "deploy.json"), ":deploy.json",
        "+", "exec", CHECK,
        "+", "fs", "cp", "-f", os.path.join(d, "main.py"), ":main.py",
    ]
    if start:
        argv += ["+", "exec", "--no-follow", START]
    return argv


def start_argv(port):
    """Stop what runs (Ctrl-C), soft reset, mount, run /main.py without waiting."""
    return mpremote_base(port) + ["exec", BOOT, "+", "exec", "--no-follow", START]


def stop_argv(port):
    """Ctrl-C, then a soft reset from the raw REPL: the board waits at its
    REPL (main.py runs only after a reset from the friendly REPL)."""
    return mpremote_base(port) + ["soft-reset"]


def show(argv):
    """argv for people: the code snippets as <...> names."""
    words = []
    for a in argv:
        if "\n" in a:
            a = "'<%d lines of Python>'" % a.count("\n")
        elif a == sys.executable:
            a = "python"
        words.append(a)
    return " ".join(words)


def mpremote(argv, log=print, timeout=None):
    """Run mpremote, echoing its output line by line through log; (status, output)."""
    log("$ " + show(argv))
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            errors="replace")
    lines = []
    try:
        for line in proc.stdout:
            lines.append(line)
            log("  " + line.rstrip("\n"))
        status = proc.wait(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return status, "".join(lines)


# --- watching ----------------------------------------------------------------

@dataclass
class Watched:
    output: str         # what the app printed (\r\n as \n)
    error: str          # the traceback it ended with ("" when none, or not ended)
    ended: bool         # the raw REPL reported the end of the program
    matched: bool       # `until` was seen


def watch(port, until=None, timeout=None, write=None):
    """Read the board's console without sending anything: print (write) its
    output as it comes, until the program started from the raw REPL ends
    (mpremote's exec/`console start`: output, Ctrl-D, traceback, Ctrl-D),
    until the text `until` appears, or timeout seconds.  An app that runs
    from main.py at power-up has no such end: watch it with until/timeout.
    The port is opened with pyserial as mpremote opens it (DTR and RTS up,
    an exclusive lock), except that what the board printed before is kept:
    pyserial empties the input when it opens a port."""
    import codecs
    import time

    import serial

    decode = codecs.getincrementaldecoder("utf-8")("replace").decode
    ser = serial.serial_for_url(port or _auto_port(), do_not_open=True, baudrate=115200,
                                timeout=0.2, exclusive=True)
    ser._reset_input_buffer = lambda: None      # what open() calls to empty the input (pyserial 3.5)
    ser.open()
    out, err = bytearray(), bytearray()
    eofs = 0
    matched = False
    deadline = None if timeout is None else time.monotonic() + timeout
    try:
        while eofs < 2 and not matched and (deadline is None or time.monotonic() < deadline):
            shown = bytearray()
            for byte in ser.read(256):
                if eofs >= 2:
                    break           # what follows is the raw REPL's prompt
                if byte == 4:
                    eofs += 1
                elif eofs == 0:
                    out.append(byte)
                    shown.append(byte)
                else:
                    err.append(byte)
            if shown and write:
                write(decode(bytes(shown)).replace("\r", ""))
            matched = bool(until) and until.encode() in out
    finally:
        ser.close()
    return Watched(_text(bytes(out)), _text(bytes(err)), eofs >= 2, matched)


def _text(data):
    return data.decode("utf-8", "replace").replace("\r", "")


def _auto_port():
    """mpremote's `connect auto`: the first USB serial device."""
    import serial.tools.list_ports
    for p in sorted(serial.tools.list_ports.comports()):
        if p.vid is not None and p.pid is not None:
            return p.device
    raise RuntimeError("no USB serial device found: give --port")

# Where the codec takes its grammar tables from (runs on CPython and under
# MicroPython, tests/mprun.py): a frozen table module first, else a file in
# SCHEMA_DIRS, else the table module; every source gives the same bytes.
from micro15118 import exi
from micro15118 import grammars

import vector_dicts


class _Setting:
    """exi's table settings changed for one test, restored after."""

    def __init__(self, dirs, frozen, in_ram=None):
        self.dirs, self.frozen, self.in_ram = dirs, frozen, in_ram

    def __enter__(self):
        self.saved = (exi.SCHEMA_DIRS[:], exi._frozen, exi.TABLES_IN_RAM, exi._grammars.copy())
        exi.SCHEMA_DIRS[:] = self.dirs
        exi._frozen = self.frozen
        if self.in_ram is not None:
            exi.TABLES_IN_RAM = self.in_ram
        exi._grammars.clear()

    def __exit__(self, *exc):
        exi.SCHEMA_DIRS[:], exi._frozen, exi.TABLES_IN_RAM, g = self.saved
        exi._grammars.clear()
        exi._grammars.update(g)


def _source(schema):
    g = exi.grammar(schema)
    return g._mem if g._file is None else g._file


def _round_trips():
    bad = []
    for v in vector_dicts.load():
        if exi.encode(v["schema"], v["msg"], **v["args"]) != v["exi"]:
            bad.append(v["name"])
        elif exi.decode(v["schema"], v["exi"], **v["args"]) != v["msg"]:
            bad.append(v["name"])
    return bad


def test_a_frozen_codec_takes_the_table_module_before_files():
    with _Setting(exi.SCHEMA_DIRS[:], True, False):
        src = _source("-20:DC")
        assert isinstance(src, bytes) and src is grammars.load("iso20_DC")


def test_a_codec_on_a_file_system_takes_the_file_first():
    with _Setting(exi.SCHEMA_DIRS[:], False, False):
        src = _source("-20:DC")
        assert not isinstance(src, bytes)       # the open file, read on demand
        src.close()


def test_without_files_the_table_modules_serve_every_vector():
    with _Setting(["/no/such/dir"], False, False):
        assert isinstance(_source("-20:AC"), bytes)
        assert not _round_trips()


def test_frozen_tables_serve_every_vector():
    with _Setting([], True):
        assert not _round_trips()


def test_a_missing_table_is_an_exi_error():
    with _Setting(["/no/such/dir"], True):
        saved = grammars.load
        grammars.load = lambda name: __import__("micro15118.grammars.no_such_table")
        try:
            exi.grammar("din")
        except exi.ExiError as e:
            assert "din" in str(e) and "/no/such/dir" in str(e), str(e)
        else:
            assert False, "no ExiError"
        finally:
            grammars.load = saved


def test_the_iso20_tables_share_one_base_read_in_place():
    with _Setting([], True):
        gs = [exi.grammar(s) for s in ("-20:CommonMessages", "-20:AC", "-20:DC")]
        base = gs[0].base
        assert base is not None and gs[1].base is base and gs[2].base is base
        # the frozen constant itself (in flash on a board), not a copy
        assert base._mem is grammars.load("iso20_CommonTypes")
        assert exi.grammar("appProtocol").base is None


def test_a_base_of_another_build_is_refused():
    from micro15118.exi.grammar import Grammar
    stale = bytearray(grammars.load("iso20_CommonTypes"))
    stale[4] ^= 1       # its stamp
    try:
        Grammar(grammars.load("iso20_DC"), "-20:DC", lambda name: Grammar(bytes(stale), name))
    except exi.ExiError as e:
        assert "iso20_CommonTypes" in str(e), str(e)
    else:
        assert False, "no ExiError"

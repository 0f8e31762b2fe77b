"""Fixture hosts, options and libvirt's own domain schema for the libvirt driver tests."""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import shutil
import subprocess
import tempfile
from typing import Any

from oslo_config import cfg

from nova_tx.conf import compute, default, virt
from nova_tx.conf import libvirt as libvirt_conf

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
DOMAIN_RNG = "/usr/share/libvirt/schemas/domain.rng"


def fixture_uri(name: str) -> str:
    """``test:///<absolute path>`` of a host file in ``fixtures/``."""
    return "test://" + os.path.join(FIXTURES, name)


def make_conf(**overrides: Any) -> cfg.ConfigOpts:
    """[DEFAULT], [compute], [libvirt], [vnc], [spice]; ``overrides`` are
    ``group__name=value`` (``DEFAULT__name`` for [DEFAULT])."""
    conf = cfg.ConfigOpts()
    for module in (default, virt, compute, libvirt_conf):
        module.register_opts(conf)
    conf([], default_config_files=[])
    for key, value in overrides.items():
        group, name = key.split("__")
        conf.set_override(name, value, group=None if group == "DEFAULT" else group)
    return conf


class _XMLError(ctypes.Structure):
    _fields_ = [("domain", ctypes.c_int), ("code", ctypes.c_int),
                ("message", ctypes.c_char_p), ("level", ctypes.c_int),
                ("file", ctypes.c_char_p), ("line", ctypes.c_int)]


_HANDLER = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.POINTER(_XMLError))


def _validate_with_libxml2(path: str) -> list[str]:
    """What ``virt-xml-validate`` does (``xmllint --relaxng domain.rng``), through the
    same libxml2 when xmllint (Debian's libxml2-utils) is not installed."""
    lib = ctypes.CDLL(ctypes.util.find_library("xml2"))
    lib.xmlRelaxNGNewParserCtxt.restype = ctypes.c_void_p
    lib.xmlRelaxNGParse.restype = ctypes.c_void_p
    lib.xmlRelaxNGParse.argtypes = [ctypes.c_void_p]
    lib.xmlRelaxNGNewValidCtxt.restype = ctypes.c_void_p
    lib.xmlRelaxNGNewValidCtxt.argtypes = [ctypes.c_void_p]
    lib.xmlRelaxNGSetValidStructuredErrors.argtypes = [ctypes.c_void_p, _HANDLER,
                                                       ctypes.c_void_p]
    lib.xmlReadFile.restype = ctypes.c_void_p
    lib.xmlReadFile.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int]
    lib.xmlRelaxNGValidateDoc.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    lib.xmlFreeDoc.argtypes = [ctypes.c_void_p]
    lib.xmlRelaxNGFreeValidCtxt.argtypes = [ctypes.c_void_p]
    lib.xmlRelaxNGFree.argtypes = [ctypes.c_void_p]
    lib.xmlRelaxNGFreeParserCtxt.argtypes = [ctypes.c_void_p]
    errors: list[str] = []

    def collect(_ctx: Any, error: Any) -> None:
        errors.append(f"line {error.contents.line}: "
                      f"{(error.contents.message or b'').decode().strip()}")
    handler = _HANDLER(collect)
    parser = lib.xmlRelaxNGNewParserCtxt(DOMAIN_RNG.encode())
    schema = lib.xmlRelaxNGParse(parser)
    valid = lib.xmlRelaxNGNewValidCtxt(schema)
    lib.xmlRelaxNGSetValidStructuredErrors(valid, handler, None)
    doc = lib.xmlReadFile(path.encode(), None, 0)
    try:
        if not doc:
            return ["not well-formed XML"]
        result = lib.xmlRelaxNGValidateDoc(valid, doc)
        if result != 0 and not errors:
            errors.append(f"invalid (libxml2 result {result})")
        return errors
    finally:
        if doc:
            lib.xmlFreeDoc(doc)
        lib.xmlRelaxNGFreeValidCtxt(valid)
        lib.xmlRelaxNGFree(schema)
        lib.xmlRelaxNGFreeParserCtxt(parser)


def schema_errors(xml_text: str) -> list[str]:
    """libvirt's domain schema verdict on a document: [] when it is valid.

    ``virt-xml-validate <file> domain`` when it can run (it needs ``xmllint``),
    otherwise the same RelaxNG schema checked by libxml2 itself.
    """
    from tests.helpers import unavailable

    if not os.path.exists(DOMAIN_RNG):
        unavailable(f"libvirt's schema {DOMAIN_RNG} (Debian's libvirt-clients)")
    with tempfile.NamedTemporaryFile("w", suffix=".xml", delete=False) as f:
        f.write(xml_text)
        path = f.name
    try:
        if shutil.which("virt-xml-validate") and shutil.which("xmllint"):
            run = subprocess.run(["virt-xml-validate", path, "domain"],
                                 capture_output=True, text=True)
            return [] if run.returncode == 0 else [run.stderr.strip() or run.stdout.strip()]
        if not ctypes.util.find_library("xml2"):
            unavailable("virt-xml-validate with xmllint, or libxml2")
        return _validate_with_libxml2(path)
    finally:
        os.unlink(path)

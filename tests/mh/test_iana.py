"""The enums are generated from the checked-in IANA registry, and every codec class uses a registered code."""

from __future__ import annotations

import importlib.util
import sys
from enum import Enum
from pathlib import Path

from pmiprouter.mh import MESSAGES, OPTIONS, BAStatus, MHType, OptionType, iana

ROOT = Path(__file__).resolve().parents[2]


def load_generator():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location('gen_iana', ROOT / 'tools' / 'gen_iana.py')
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules['gen_iana'] = module
    spec.loader.exec_module(module)
    return module


def test_generated_module_matches_registry_csv() -> None:
    """pmiprouter/mh/iana.py is exactly what tools/gen_iana.py makes of the CSV (regenerate after editing it)."""
    gen = load_generator()
    assert (ROOT / 'pmiprouter' / 'mh' / 'iana.py').read_text() == gen.render(gen.read_rows())


def test_every_member_names_its_rfc() -> None:
    """Each enum member carries a description and a reference."""
    enums = [v for v in vars(iana).values() if isinstance(v, type) and issubclass(v, Enum) and v.__module__ == iana.__name__]
    assert len(enums) >= 15
    for enum in enums:
        for member in enum:
            assert member.description and member.reference.startswith(('RFC', '3GPP')), member  # type: ignore[attr-defined]


def test_codec_classes_use_registered_codes() -> None:
    """Every message and option class is registered under an IANA-assigned code."""
    assert set(MESSAGES) <= {m.value for m in MHType}
    assert set(OPTIONS) <= {o.value for o in OptionType}


def test_rfc5213_status_codes() -> None:
    """Spot-check the PMIPv6 status codes against RFC 5213 §8.9."""
    assert BAStatus.PROXY_REG_NOT_ENABLED == 152
    assert BAStatus.MISSING_ACCESS_TECH_TYPE_OPTION == 162
    assert BAStatus(154).reference == 'RFC 5213'  # type: ignore[attr-defined]


def test_duplicate_registration_fails() -> None:
    """Registering a second class for a taken option type is an error at import time."""
    import pytest

    from pmiprouter.mh.option import MobilityOption, register_option

    class Duplicate(MobilityOption):
        TYPE = OptionType.HOME_NETWORK_PREFIX

    with pytest.raises(TypeError, match='registered twice'):
        register_option(Duplicate)

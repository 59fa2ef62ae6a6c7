"""Static checks of debian/: versions agree, every third-party import has a Debian dependency, the unit is sane."""

from __future__ import annotations

import ast
import configparser
import re
import sys
from pathlib import Path

import pytest

from pmiprouter import __version__

ROOT = Path(__file__).resolve().parents[2]
DEBIAN = ROOT / 'debian'

# Top-level module imported by the code -> the Debian 12 package that provides it.
DEBIAN_PACKAGE_OF = {
    'twisted': 'python3-twisted',
    'zope': 'python3-zope.interface',
    'pyroute2': 'python3-pyroute2',
    'prompt_toolkit': 'python3-prompt-toolkit',
    'OpenSSL': 'python3-openssl',
}


def depends() -> set[str]:
    """Package names in the binary package's Depends (substvars left out)."""
    control = (DEBIAN / 'control').read_text()
    match = re.search(r'^Depends:(.*?)(?=^\S|\Z)', control, re.M | re.S)
    assert match, 'no Depends in debian/control'
    names = {item.strip().split()[0] for item in match[1].replace('\n', ' ').split(',') if item.strip()}
    return {name for name in names if not name.startswith('${')}


def imported_top_level_modules() -> set[str]:
    """Every top-level module imported anywhere in pmiprouter/ and cli/ (including function-level imports)."""
    modules: set[str] = set()
    for path in [*(ROOT / 'pmiprouter').rglob('*.py'), *(ROOT / 'cli').rglob('*.py')]:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                modules.update(alias.name.split('.')[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.split('.')[0])
    return modules


def test_changelog_version_matches_the_package() -> None:
    """debian/changelog's version (native: no revision) equals pmiprouter.__version__."""
    first = (DEBIAN / 'changelog').read_text().splitlines()[0]
    assert re.match(rf'^pmiprouter \({re.escape(__version__)}\) \S+; urgency=', first), first


def test_source_format_is_native() -> None:
    """The source format is 3.0 (native)."""
    assert (DEBIAN / 'source' / 'format').read_text().strip() == '3.0 (native)'


def test_every_third_party_import_has_a_debian_dependency() -> None:
    """Each non-stdlib module the code imports maps to a package listed in Depends."""
    third_party = {m for m in imported_top_level_modules() if m not in sys.stdlib_module_names} - {'pmiprouter', '__future__'}
    unknown = third_party - DEBIAN_PACKAGE_OF.keys()
    assert not unknown, f'imports with no Debian package known here (add to DEBIAN_PACKAGE_OF and Depends): {unknown}'
    missing = {DEBIAN_PACKAGE_OF[m] for m in third_party} - depends()
    assert not missing, f'debian/control Depends lacks {missing}'


def test_install_requires_are_in_depends() -> None:
    """setup.py's install_requires (PyPI names) all have their Debian package in Depends."""
    pypi_to_debian = {
        'twisted': {'python3-twisted'},
        # Twisted's conch extra (the SSH server): pyasn1, cryptography, bcrypt (appdirs: client only).
        'twisted[conch]': {'python3-twisted', 'python3-cryptography', 'python3-bcrypt', 'python3-pyasn1'},
        'pyroute2': {'python3-pyroute2'},
        'pyopenssl': {'python3-openssl'},
        'prompt-toolkit': {'python3-prompt-toolkit'},
    }
    setup = (ROOT / 'setup.py').read_text()
    block = re.search(r'install_requires=\[(.*?)\n\s*\]', setup, re.S)
    assert block
    requirements = re.findall(r"^\s*'([^']+)'", block[1], re.M)
    names = {re.split(r'[<>=!~ ;]', req)[0].lower() for req in requirements}
    assert names, 'no install_requires found in setup.py'
    assert names <= pypi_to_debian.keys(), f'unmapped install_requires: {names - pypi_to_debian.keys()}'
    assert set().union(*(pypi_to_debian[n] for n in names)) <= depends()


def test_depends_on_iproute2() -> None:
    """iproute2 is a dependency (the issue asks for it; operators use ip(8) next to the daemon)."""
    assert {'iproute2', 'procps'} <= depends()


@pytest.fixture(scope='module')
def unit() -> configparser.ConfigParser:
    """The systemd unit, parsed (keys keep their case)."""
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string((DEBIAN / 'pmiprouter.service').read_text())
    return parser


def test_unit_type_notify_reload_restart(unit: configparser.ConfigParser) -> None:
    """Type=notify, SIGHUP reload, Restart=on-failure, StateDirectory, the startup-config path."""
    service = unit['Service']
    assert service['Type'] == 'notify'
    assert service['ExecReload'] == '/bin/kill -HUP $MAINPID'
    assert service['Restart'] == 'on-failure'
    assert service['StateDirectory'] == 'pmiprouter'
    assert '-c /etc/pmiprouter/startup-config' in service['ExecStart']
    assert service['ExecStart'].startswith('/usr/bin/pmiprouter run ')
    assert unit['Install']['WantedBy'] == 'multi-user.target'


def test_unit_capabilities_and_hardening(unit: configparser.ConfigParser) -> None:
    """Only NET_ADMIN, NET_RAW, NET_BIND_SERVICE; nothing that breaks netlink, tunnels or /proc/sys."""
    service = unit['Service']
    assert set(service['CapabilityBoundingSet'].split()) == {'CAP_NET_ADMIN', 'CAP_NET_RAW', 'CAP_NET_BIND_SERVICE'}
    assert service['NoNewPrivileges'] == 'yes'
    for breaking in ('ProtectKernelTunables', 'PrivateDevices', 'PrivateNetwork', 'PrivateUsers', 'IPAddressDeny'):
        assert breaking not in service, f'{breaking} would break the data plane'
    assert 'AF_NETLINK' in service['RestrictAddressFamilies'].split()
    assert 'AF_INET6' in service['RestrictAddressFamilies'].split()


def test_package_files_are_declared() -> None:
    """The conffile source, man page and examples that the packaging installs exist."""
    for line in (DEBIAN / 'pmiprouter.install').read_text().split('\n'):
        if line.strip():
            assert (ROOT / line.split()[0]).is_file(), line
    for name in ('pmiprouter.manpages', 'pmiprouter.docs'):
        for line in (DEBIAN / name).read_text().split('\n'):
            if line.strip():
                assert (ROOT / line.strip()).is_file(), line
    assert list(ROOT.glob((DEBIAN / 'pmiprouter.examples').read_text().strip()))


def test_shipped_startup_config_is_valid_and_idle() -> None:
    """The conffile loads, and configures no role (the service starts idle)."""
    from pmiprouter.config.load import load_file

    result = load_file(str(DEBIAN / 'startup-config'))
    assert result.ok and result.config is not None, [e.render() for e in result.errors]
    assert not result.config.lmas and not result.config.mags

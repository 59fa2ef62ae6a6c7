"""Topology files for `pmiprouter lab up|demo --topology FILE`: a small INI dialect.

Sections are ``[lab]``, ``[cn]``, ``[lma]``, ``[mag NAME]`` (one or more) and ``[mn NAME]``
(one or more); lines are ``key = value``; ``#`` and ``;`` start comments. docs/lab.md
describes every key; conf/lab/default.topology is the default lab written this way.

Read by hand rather than with configparser so that every error names its line: all errors
of a file are collected and raised together as one :class:`TopologyError`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Interface, IPv4Network, IPv6Interface, IPv6Network, ip_interface
from pathlib import Path

from pmiprouter.lab.topology import PREFIX, Lab, MobileNode

#: `transport` values and the domain `encap` each one configures.
TRANSPORTS = {'ipv6': 'ipv6-in-ipv6', 'ipv4-udp': 'udptunnel', 'gre': 'gre-ipv6'}
MN_TYPES = ('dual', 'ipv4', 'ipv6')
DHCP_MODES = ('server', 'relay')
NAME = re.compile(r'[a-z][a-z0-9]{0,6}$')  # interface names built from it stay within 15 characters
MAC = re.compile(r'([0-9a-f]{2}:){5}[0-9a-f]{2}$')
RESERVED = {'cn', 'lma', 'air'}

KEYS = {
    'lab': {'transport', 'hnp-pool', 'ipv4-pool', 'dhcp', 'dhcp-server'},
    'cn': {'ipv6', 'ipv4', 'gateway-ipv6', 'gateway-ipv4'},
    'lma': {'ipv6', 'ipv4'},
    'mag': {'ipv6', 'ipv4'},
    'mn': {'type', 'mac', 'mag', 'links'},
}
REQUIRED = {'cn': {'ipv6', 'ipv4'}, 'lma': {'ipv6', 'ipv4'}, 'mag': {'ipv6', 'ipv4'}, 'mn': {'type', 'mac', 'mag'}}


class TopologyError(ValueError):
    """A topology file is wrong; the message lists every error as ``file:line: message``."""


@dataclass
class Section:
    kind: str
    name: str | None
    line: int
    values: dict[str, tuple[str, int]] = field(default_factory=dict)  # key -> (value, line)

    @property
    def title(self) -> str:
        return f'[{self.kind} {self.name}]' if self.name else f'[{self.kind}]'


class _Reader:
    def __init__(self, source: str) -> None:
        self.source = source
        self.errors: list[str] = []

    def error(self, line: int, message: str) -> None:
        self.errors.append(f'{self.source}:{line}: {message}')

    def sections(self, text: str) -> list[Section]:
        sections: list[Section] = []
        current: Section | None = None
        for number, raw in enumerate(text.splitlines(), 1):
            line = re.split(r'\s[#;]|^[#;]', raw, maxsplit=1)[0].strip()
            if not line:
                continue
            header = re.fullmatch(r'\[\s*([a-z]+)(?:\s+(\S+))?\s*\]', line)
            if header:
                current = self._section(header.group(1), header.group(2), number)
                if current is not None:
                    sections.append(current)
                continue
            if line.startswith('['):
                self.error(number, f'bad section header {line!r}: [lab], [cn], [lma], [mag NAME] or [mn NAME]')
                current = None
                continue
            key, sep, value = line.partition('=')
            key, value = key.strip(), value.strip()
            if not sep or not key:
                self.error(number, f'expected "key = value", got {line!r}')
            elif current is None:
                self.error(number, f'{key}: outside a section')
            elif key not in KEYS[current.kind]:
                self.error(number, f'{current.title} unknown key {key!r}; known: {", ".join(sorted(KEYS[current.kind]))}')
            elif key in current.values:
                self.error(number, f'{current.title} {key} given twice (first on line {current.values[key][1]})')
            elif not value:
                self.error(number, f'{current.title} {key}: empty value')
            else:
                current.values[key] = (value, number)
        return sections

    def _section(self, kind: str, name: str | None, number: int) -> Section | None:
        if kind not in KEYS:
            self.error(number, f'unknown section [{kind}]; known: [lab], [cn], [lma], [mag NAME], [mn NAME]')
            return None
        if kind in ('mag', 'mn'):
            if name is None:
                self.error(number, f'[{kind}] needs a name, e.g. [{kind} {kind}1]')
                return None
            if not NAME.match(name) or name in RESERVED:
                self.error(number, f'[{kind} {name}]: a name is a lower-case letter and up to 6 letters or digits, '
                                   f'not cn, lma or air')
                return None
        elif name is not None:
            self.error(number, f'[{kind}] takes no name')
            return None
        return Section(kind, name, number)


def _value(reader: _Reader, section: Section, key: str, parse: type, what: str) -> object | None:
    if key not in section.values:
        return None
    text, line = section.values[key]
    try:
        return parse(text)
    except ValueError:
        reader.error(line, f'{section.title} {key}: {text!r} is not {what}')
        return None


def parse_topology(text: str, source: str = '<topology>', prefix: str = PREFIX) -> Lab:
    """A :class:`Lab` from a topology file's text; raise :class:`TopologyError` listing every error."""
    reader = _Reader(source)
    sections = reader.sections(text)
    by_kind: dict[str, list[Section]] = {kind: [s for s in sections if s.kind == kind] for kind in KEYS}
    for kind in ('lab', 'cn', 'lma'):
        for extra in by_kind[kind][1:]:
            reader.error(extra.line, f'[{kind}] given twice (first on line {by_kind[kind][0].line})'
                         + ('; the lab has one LMA' if kind == 'lma' else ''))
    for kind in ('cn', 'lma', 'mag', 'mn'):
        if not by_kind[kind]:
            reader.error(1, f'no [{kind}{" NAME" if kind in ("mag", "mn") else ""}] section')
    names: dict[str, int] = {}
    for section in by_kind['mag'] + by_kind['mn']:
        assert section.name is not None
        if section.name in names:
            reader.error(section.line, f'{section.title}: the name {section.name} is used twice (first on line {names[section.name]})')
        names[section.name] = section.line
    for section in sections:
        for key in sorted(REQUIRED.get(section.kind, set()) - set(section.values)):
            reader.error(section.line, f'{section.title} needs {key}')
    lab_section = by_kind['lab'][0] if by_kind['lab'] else Section('lab', None, 1)
    settings = _lab_settings(reader, lab_section)
    cn = _cn(reader, by_kind['cn'][0]) if by_kind['cn'] else None
    lma = _core_interfaces(reader, by_kind['lma'][0]) if by_kind['lma'] else None
    core4 = lma[1].network if lma is not None and lma[1] is not None else None
    if 'dhcp-server' in lab_section.values:
        text, line = lab_section.values['dhcp-server']
        try:
            server = IPv4Address(text)
        except ValueError:
            reader.error(line, f'[lab] dhcp-server: {text!r} is not an IPv4 address')
        else:
            if core4 is not None and server not in core4:
                reader.error(line, f"[lab] dhcp-server: {server} is not on the LMA's core network {core4}")
            settings['dhcp_server4'] = str(server)
    elif core4 is not None and core4.num_addresses > 70:
        settings['dhcp_server4'] = str(core4.network_address + 67)  # the DHCP server's usual last octet
    mags: dict[str, tuple[IPv6Interface | None, IPv4Interface | None]] = {}
    for section in by_kind['mag']:
        assert section.name is not None
        if section.name not in mags:
            mags[section.name] = _core_interfaces(reader, section, lma)
    mobile_nodes = [_mobile_node(reader, section, list(mags)) for section in by_kind['mn']]
    macs: dict[str, str] = {}
    for mn, section in zip(mobile_nodes, by_kind['mn']):
        if mn is not None and mn.mac in macs:
            reader.error(section.values['mac'][1], f'{section.title} mac {mn.mac} is also {macs[mn.mac]}\'s')
        elif mn is not None:
            macs[mn.mac] = mn.name
    if reader.errors:
        raise TopologyError('\n'.join(reader.errors))
    assert cn is not None and lma is not None and lma[0] is not None and lma[1] is not None
    cn6, cn4, gateway6, gateway4 = cn
    return Lab(
        prefix=prefix,
        mobile_nodes=tuple(mn for mn in mobile_nodes if mn is not None),
        mags={name: str(v6.ip) for name, (v6, _v4) in mags.items() if v6 is not None},
        mags4={name: str(v4.ip) for name, (_v6, v4) in mags.items() if v4 is not None},
        lma=str(lma[0].ip), lma4=str(lma[1].ip),
        core_prefixlen6=lma[0].network.prefixlen, core_prefixlen4=lma[1].network.prefixlen,
        cn6=str(cn6.ip), cn4=str(cn4.ip), cn_gateway6=gateway6, cn_gateway4=gateway4,
        cn_prefixlen6=cn6.network.prefixlen, cn_prefixlen4=cn4.network.prefixlen,
        **settings,  # type: ignore[arg-type]
    )


def _lab_settings(reader: _Reader, section: Section) -> dict[str, str]:
    settings: dict[str, str] = {}
    if 'transport' in section.values:
        text, line = section.values['transport']
        if text in TRANSPORTS:
            settings['encap'] = TRANSPORTS[text]
        else:
            reader.error(line, f'[lab] transport: {text!r} is not one of {", ".join(TRANSPORTS)}')
    if 'dhcp' in section.values:
        text, line = section.values['dhcp']
        if text in DHCP_MODES:
            settings['dhcp'] = text
        else:
            reader.error(line, f'[lab] dhcp: {text!r} is not one of {", ".join(DHCP_MODES)}')
    for key, kind, what in (('hnp-pool', IPv6Network, 'an IPv6 prefix'), ('ipv4-pool', IPv4Network, 'an IPv4 prefix')):
        pool = _value(reader, section, key, kind, what)
        if pool is not None:
            settings['hnp_pool' if key == 'hnp-pool' else 'ipv4_pool'] = str(pool)
    return settings


def _interface(reader: _Reader, section: Section, key: str, version: int) -> IPv6Interface | IPv4Interface | None:
    if key not in section.values:
        return None
    text, line = section.values[key]
    try:
        interface = ip_interface(text)
    except ValueError:
        interface = None
    if interface is None or interface.version != version:
        reader.error(line, f'{section.title} {key}: {text!r} is not an IPv{version} address (ADDRESS or ADDRESS/LENGTH)')
        return None
    if '/' not in text:  # the lab's usual lengths: a /64 or a /24 link
        interface = ip_interface(f'{text}/{64 if version == 6 else 24}')
    return interface


def _cn(reader: _Reader, section: Section) -> tuple[IPv6Interface, IPv4Interface, str, str] | None:
    cn6 = _interface(reader, section, 'ipv6', 6)
    cn4 = _interface(reader, section, 'ipv4', 4)
    gateways = []
    for key, address, version in (('gateway-ipv6', cn6, 6), ('gateway-ipv4', cn4, 4)):
        if address is None:
            gateways.append('')
            continue
        hosts = address.network.hosts()
        first = next(hosts)
        chosen = _interface(reader, section, key, version) if key in section.values else None
        gateway = chosen.ip if chosen is not None else (first if first != address.ip else next(hosts))
        line = section.values.get(key, ('', section.line))[1]
        if gateway not in address.network:
            reader.error(line, f'{section.title} {key}: {gateway} is not on the CN\'s link {address.network}')
        elif gateway == address.ip:
            reader.error(line, f'{section.title} {key}: {gateway} is the CN\'s own address')
        gateways.append(str(gateway))
    if cn6 is None or cn4 is None:
        return None
    return cn6, cn4, gateways[0], gateways[1]  # type: ignore[return-value]


def _core_interfaces(
    reader: _Reader, section: Section, lma: tuple[IPv6Interface | None, IPv4Interface | None] | None = None
) -> tuple[IPv6Interface | None, IPv4Interface | None]:
    """A router's transport addresses; a MAG's must be on the LMA's links (one core network)."""
    found = (_interface(reader, section, 'ipv6', 6), _interface(reader, section, 'ipv4', 4))
    if lma is not None:
        for key, mine, theirs in (('ipv6', found[0], lma[0]), ('ipv4', found[1], lma[1])):
            if mine is None or theirs is None:
                continue
            line = section.values[key][1]
            if mine.ip not in theirs.network:
                reader.error(line, f'{section.title} {key}: {mine.ip} is not on the LMA\'s core network {theirs.network}')
            elif mine.ip == theirs.ip:
                reader.error(line, f'{section.title} {key}: {mine.ip} is the LMA\'s address')
    return found  # type: ignore[return-value]


def _mobile_node(reader: _Reader, section: Section, mags: list[str]) -> MobileNode | None:
    ok = True
    values = {key: text for key, (text, _line) in section.values.items()}
    kind = values.get('type')
    if kind is not None and kind not in MN_TYPES:
        reader.error(section.values['type'][1], f'{section.title} type: {kind!r} is not one of {", ".join(MN_TYPES)}')
        ok = False
    mac = values.get('mac', '').lower()
    if 'mac' in values and (not MAC.match(mac) or int(mac[:2], 16) & 1):
        reader.error(section.values['mac'][1], f'{section.title} mac: {values["mac"]!r} is not a unicast MAC address (aa:bb:cc:dd:ee:ff)')
        ok = False
    links = tuple(values['links'].replace(',', ' ').split()) if 'links' in values else ()
    for mag in links:
        if mag not in mags:
            reader.error(section.values['links'][1], f'{section.title} links: no [mag {mag}]')
            ok = False
    start = values.get('mag')
    if start is not None and start not in mags:
        reader.error(section.values['mag'][1], f'{section.title} mag: no [mag {start}]')
        ok = False
    elif start is not None and links and start not in links:
        reader.error(section.values['mag'][1], f'{section.title} mag: {start} is not among its links ({" ".join(links)})')
        ok = False
    if not ok or kind is None or start is None or 'mac' not in values or section.name is None:
        return None
    return MobileNode(section.name, mac, kind, start, links)


def load_topology(path: str | Path, prefix: str = PREFIX) -> Lab:
    """Read and check a topology file (errors: :class:`TopologyError`, also for an unreadable file)."""
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise TopologyError(f'{path}: cannot read: {exc.strerror}') from exc
    return parse_topology(text, str(path), prefix)

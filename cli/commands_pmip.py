"""The PMIPv6 sub-mode trees, as data (RFC 5213, 5844, 5845, 5846, 5847).

Pure module. Keywords follow Cisco's IOS-XE PMIPv6 grammar where it exists
(`encap`, `replay-protection timestamp window`, `bce lifetime`, `bce delete-wait-time`,
`dynamic mag learning`, `address ipv6`, `interface`, `lma NAME DOMAIN`, `heartbeat`,
`binding lifetime`, `nai`); departures are recorded in docs/adr/0002-cli-grammar.md.
"""

from __future__ import annotations

from pmiprouter.cli.grammar import NAME, choice, config_common, root, setting
from pmiprouter.cli.handlers import pmip
from pmiprouter.cli.handlers.edit import flag, heartbeat
from pmiprouter.cli.tree import (
    Int,
    IPv4Address,
    IPv4Prefix,
    IPv6Address,
    IPv6Prefix,
    MacAddress,
    Nai,
    Word,
    kw,
    param,
)
from pmiprouter.config.model import ACCESS_TECHNOLOGIES

IFNAME = Word(r'[A-Za-z0-9][A-Za-z0-9._-]*', label='IFNAME', max_len=15)
KEY = Word(r'[!-~]+', label='WORD', max_len=64)
HEX_KEY = Word(r'[0-9a-fA-F]+', label='HEX', max_len=128)

HEARTBEAT = kw(
    'heartbeat', 'Heartbeat with peers (RFC 5847)',
    kw('interval', 'Interval between heartbeats',
       param('interval', Int(30, 3600), 'Seconds (HEARTBEAT_INTERVAL)',
             kw('retries', 'Missing heartbeats allowed before the path is down',
                param('retries', Int(1, 10), 'MISSING_HEARTBEATS_ALLOWED', handler=heartbeat)),
             handler=heartbeat)),
    handler=heartbeat, neg_only=True,
)

ADDRESS = kw(
    'address', 'Local signalling address',
    setting('ipv4', 'IPv4 address (RFC 5844)', IPv4Address(), 'IPv4 address', 'ipv4_address'),
    setting('ipv6', 'IPv6 address', IPv6Address(), 'IPv6 address', 'ipv6_address'),
)

DOMAIN = root(
    *config_common(),
    kw('auth-option', 'Mobility message authentication option (RFC 4285)',
       kw('spi', 'Security parameter index',
          param('spi', Int(256, 4294967295), 'SPI',
                kw('key', 'Shared key of the MAG-LMA security association',
                   kw('ascii', 'Key as printable text',
                      param('key', KEY, 'Key', handler=pmip.auth_option), arg='key_format'),
                   kw('hex', 'Key as hexadecimal digits',
                      param('key', HEX_KEY, 'Key', handler=pmip.auth_option), arg='key_format')))),
       handler=pmip.auth_option, neg_only=True),
    choice('encap', 'Tunnel encapsulation of the domain', {
        'gre-ipv4': 'GRE over IPv4 (RFC 5845)',
        'gre-ipv6': 'GRE over IPv6 (RFC 5845)',
        'ipv6-in-ipv4': 'IP-in-IPv4 tunnel (RFC 5844)',
        'ipv6-in-ipv6': 'IP-in-IPv6 tunnel (default, RFC 5213)',
        'udptunnel': 'IPv4 UDP encapsulation (RFC 5844 §4.1.4.1)',
    }, 'encap'),
    kw('lma', 'Configure an LMA peer of the domain',
       param('name', NAME, 'LMA name', handler=pmip.domain_peer('lma'))),
    kw('mac-address', 'Configure a mobile node profile by MAC address',
       param('id', MacAddress(), 'MAC address of the mobile node', handler=pmip.mn_profile('mac'))),
    kw('mag', 'Configure a MAG peer of the domain',
       param('name', NAME, 'MAG name', handler=pmip.domain_peer('mag'))),
    kw('nai', 'Configure a mobile node profile by NAI',
       param('id', Nai(), 'Network access identifier of the mobile node', handler=pmip.mn_profile('nai'))),
    kw('replay-protection', 'Replay protection of proxy binding updates (RFC 5213 §5.5)',
       kw('sequence-number', 'Use sequence numbers instead of timestamps',
          handler=pmip.replay_protection, arg='method'),
       kw('timestamp', 'Use the timestamp option (default)',
          kw('window', 'TimestampValidityWindow',
             param('window', Int(1, 255000), 'Milliseconds (default 300)', handler=pmip.replay_protection)),
          handler=pmip.replay_protection, arg='method'),
       handler=pmip.replay_protection, neg_only=True),
)

PEER = root(
    *config_common(),
    setting('ipv4-address', 'IPv4 address of the peer', IPv4Address(), 'IPv4 address', 'ipv4_address'),
    setting('ipv6-address', 'IPv6 address of the peer', IPv6Address(), 'IPv6 address', 'ipv6_address'),
)

MN = root(
    *config_common(),
    setting('gre-key', 'GRE key of the mobile node (RFC 5845)', Int(1, 4294967295), 'GRE key', 'gre_key'),
    kw('hnp', 'Home network prefix of the mobile node',
       param('prefix', IPv6Prefix(), 'Prefix', handler=pmip.hnp), handler=pmip.hnp, neg_only=True),
    setting('ipv4-address', 'IPv4 home address (RFC 5844)', IPv4Address(), 'IPv4 home address',
            'ipv4_home_address'),
    setting('lma', 'LMA serving the mobile node', NAME, 'LMA name', 'lma'),
    choice('service', 'Mobility service of the mobile node', {
        'dual': 'IPv4 and IPv6',
        'ipv4': 'IPv4 only (RFC 5844)',
        'ipv6': 'IPv6 only (default)',
    }, 'service'),
)

LMA = root(
    *config_common(),
    ADDRESS,
    kw('bce', 'Binding cache entry parameters',
       setting('create-wait-time', 'MaxDelayBeforeNewBCEAssign (RFC 5213 §9)', Int(100, 65535),
               'Milliseconds (default 1500)', 'max_delay_before_new_bce_assign_ms'),
       setting('delete-wait-time', 'MinDelayBeforeBCEDelete (RFC 5213 §9)', Int(100, 65535),
               'Milliseconds (default 10000)', 'min_delay_before_bce_delete_ms'),
       setting('lifetime', 'Maximum binding lifetime granted', Int(10, 65535), 'Seconds (default 3600)',
               'bce_lifetime_s'),
       setting('refresh-time', 'Refresh time advertised to MAGs', Int(4, 65535), 'Seconds (default 300)',
               'bce_refresh_time_s')),
    kw('bri', 'Binding revocation (RFC 5846)',
       kw('delay', 'Revocation retransmission delays',
          kw('max', 'MAX_BRACK_TIMEOUT',
             param('value', Int(500, 65535), 'Milliseconds (default 2000)', handler=pmip.bri_delay),
             arg='bound', handler=pmip.bri_delay, neg_only=True),
          kw('min', 'InitMINDelayBRIs',
             param('value', Int(500, 65535), 'Milliseconds (default 1000)', handler=pmip.bri_delay),
             arg='bound', handler=pmip.bri_delay, neg_only=True)),
       setting('retries', 'BRIMaxRetriesNumber', Int(0, 10), 'Retries (default 1)', 'bri_max_retries')),
    kw('dynamic', 'Dynamic behaviour',
       kw('mag', 'MAG peers',
          kw('learning', 'Accept PBUs from MAGs not configured in the domain',
             handler=flag('dynamic_mag_learning')))),
    HEARTBEAT,
    kw('hnp', 'Home network prefix parameters',
       setting('maximum', 'HNPs per mobile node interface', Int(1, 16), 'Count (default 1)', 'hnp_maximum')),
    kw('pool', 'Address pools for HNP and IPv4 home address assignment',
       kw('ipv4', 'IPv4 home address pool (RFC 5844)',
          param('name', NAME, 'Pool name',
                kw('prefix', 'Pool prefix',
                   param('prefix', IPv4Prefix(), 'Pool prefix', handler=pmip.pool('ipv4'))),
                handler=pmip.pool('ipv4'), neg_only=True)),
       kw('ipv6', 'Home network prefix pool',
          param('name', NAME, 'Pool name',
                kw('prefix', 'Pool prefix',
                   param('prefix', IPv6Prefix(), 'Pool prefix',
                         kw('pfxlen', 'Length of each assigned HNP',
                            param('pfxlen', Int(1, 128), 'Prefix length (default 64)',
                                  handler=pmip.pool('ipv6'))),
                         handler=pmip.pool('ipv6'))),
                handler=pmip.pool('ipv6'), neg_only=True))),
)

MAG = root(
    *config_common(),
    ADDRESS,
    kw('binding', 'Binding update list parameters',
       setting('init-retx-time', 'INITIAL_BINDACK_TIMEOUT', Int(100, 65535), 'Milliseconds (default 1000)',
               'binding_init_retx_time_ms'),
       setting('lifetime', 'Binding lifetime requested', Int(10, 65535), 'Seconds (default 3600)',
               'binding_lifetime_s'),
       setting('max-retx-time', 'MAX_BINDACK_TIMEOUT', Int(100, 65535), 'Milliseconds (default 32000)',
               'binding_max_retx_time_ms'),
       setting('refresh-time', 'Re-registration before expiry', Int(4, 65535), 'Seconds (default 300)',
               'binding_refresh_time_s')),
    kw('dhcp', 'DHCPv4 on the access links (RFC 5844 §3.4)',
       kw('mode', 'DHCPv4 role of the MAG',
          kw('relay', 'Relay to a DHCPv4 server (RFC 1542, RFC 3046)',
             kw('destination', 'DHCPv4 server to relay to',
                param('relay', IPv4Address(), 'Server address', handler=pmip.dhcp_mode)),
             arg='dhcp'),
          kw('server', 'Built-in DHCPv4 server (default)', handler=pmip.dhcp_mode, arg='dhcp'),
          handler=pmip.dhcp_mode, neg_only=True)),
    kw('fixed', 'Same addresses on all access links (RFC 5213 §9, RFC 6543)',
       setting('link-layer-address', 'FixedMAGLinkLayerAddressOnAllAccessLinks', MacAddress(), 'MAC address',
               'fixed_link_layer_address'),
       setting('link-local-address', 'FixedMAGLinkLocalAddressOnAllAccessLinks', IPv6Address(),
               'Link-local address', 'fixed_link_local_address')),
    HEARTBEAT,
    kw('interface', 'Access interface of the MAG',
       param('ifname', IFNAME, 'Interface name',
             kw('access-tech', 'Access technology type (RFC 5213 §8.5)',
                *(kw(name, f'Access technology type {code}', handler=pmip.interface, arg='att')
                  for name, code in ACCESS_TECHNOLOGIES.items())),
             handler=pmip.interface)),
    kw('ipv6', 'IPv6 on the access links',
       kw('dhcp', 'DHCPv6 on the access links (RFC 5213 §6.11)',
          kw('relay', 'Relay DHCPv6 (RFC 8415 §19)',
             setting('destination', 'DHCPv6 server to relay to', IPv6Address(), 'Server address',
                     'dhcp6_relay_destination')))),
    kw('lma', 'LMA serving this MAG',
       param('name', NAME, 'LMA name', param('domain', NAME, 'Domain of the LMA', handler=pmip.mag_lma)),
       handler=pmip.mag_lma, neg_only=True),
    kw('local-routing-mag', 'Route between local mobile nodes locally (EnableMAGLocalRouting)',
       handler=flag('local_routing')),
)

__all__ = ['DOMAIN', 'LMA', 'MAG', 'MN', 'PEER']

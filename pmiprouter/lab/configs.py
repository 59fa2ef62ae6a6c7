"""The lab routers' startup-configs, rendered in CLI syntax (readable with `lab show-config NODE`)."""

from __future__ import annotations

from pmiprouter.lab.topology import Lab


def domain(lab: Lab) -> str:
    lines = ['ipv6 mobile pmipv6-domain LAB', f' encap {lab.encap}', ' lma LMA1', f'  ipv6-address {lab.lma}']
    lines += [f'  ipv4-address {lab.lma4}', ' !']
    for mag, address in lab.mags.items():
        lines += [f' mag {mag.upper()}', f'  ipv6-address {address}', f'  ipv4-address {lab.mags4[mag]}', ' !']
    for mn in lab.mobile_nodes:
        digits = mn.mac.replace(':', '')
        lines += [f' mac-address {digits[0:4]}.{digits[4:8]}.{digits[8:12]}', f'  service {mn.service}']
        home = lab.home_address(mn)
        lines += [f'  ipv4-address {home}', ' !'] if home else [' !']
    return '\n'.join(lines) + '\n!\n'


def lma_config(lab: Lab) -> str:
    return (
        'hostname lma\n!\n' + domain(lab)
        + f'ipv6 mobile pmipv6-lma LMA1 domain LAB\n address ipv6 {lab.lma}\n address ipv4 {lab.lma4}\n'
        + f' pool ipv6 HNP prefix {lab.hnp_pool} pfxlen 64\n pool ipv4 HOA prefix {lab.ipv4_pool}\n!\nend\n'
    )


def mag_config(lab: Lab, mag: str) -> str:
    interfaces = ''.join(f' interface {lab.access_ifname(mag, mn.name)} access-tech ieee-802.11\n'
                         for mn in lab.mobile_nodes if mag in lab.links_of(mn))
    return (
        f'hostname {mag}\n!\n' + domain(lab)
        + f'ipv6 mobile pmipv6-mag {mag.upper()} domain LAB\n address ipv6 {lab.mags[mag]}\n address ipv4 {lab.mags4[mag]}\n'
        + interfaces + ' lma LMA1 LAB\n'
        + (f' dhcp mode relay destination {lab.dhcp_server4}\n' if lab.dhcp == 'relay' else '')
        + '!\nend\n'
    )


def configs(lab: Lab) -> dict[str, str]:
    return {'lma': lma_config(lab), **{mag: mag_config(lab, mag) for mag in lab.mags}}

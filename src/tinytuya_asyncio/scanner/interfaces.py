"""The machine's own networks, for default scan ranges and probe broadcasts (through ifaddr)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Final

import ifaddr

#: Networks larger than this are narrowed to the /24 around the machine's address: sweeping
#: a /16 is 65,534 connections, which is not what "scan my network" means.
MAX_DEFAULT_PREFIX: Final = 22
_NARROWED: Final = 24


@dataclass(frozen=True, slots=True)
class ProbeTarget:
    """Where REQ_DEVINFO probes go (``broadcast``) and the address they ask answers at (``ip``)."""

    #: The address the probe is sent to.
    broadcast: str
    #: The address devices are asked to answer at.
    ip: str


def _ipv4_interfaces() -> list[ipaddress.IPv4Interface]:
    found: list[ipaddress.IPv4Interface] = []
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            if not isinstance(ip.ip, str):  # IPv6 addresses come as tuples
                continue
            interface = ipaddress.IPv4Interface(f"{ip.ip}/{ip.network_prefix}")
            if interface.ip.is_loopback or interface.ip.is_link_local or interface.network.prefixlen >= 31:
                continue
            found.append(interface)
    return found


def local_networks() -> list[ipaddress.IPv4Network]:
    """The IPv4 networks of this machine's interfaces (no loopback), large ones narrowed."""
    networks: list[ipaddress.IPv4Network] = []
    for interface in _ipv4_interfaces():
        network = interface.network
        if network.prefixlen < MAX_DEFAULT_PREFIX:
            network = ipaddress.IPv4Interface(f"{interface.ip}/{_NARROWED}").network
        if network not in networks:
            networks.append(network)
    return networks


def local_probe_targets() -> list[ProbeTarget]:
    """One probe per interface: its network's broadcast address, asking for answers at its IP."""
    targets = [
        ProbeTarget(str(interface.network.broadcast_address), str(interface.ip))
        for interface in _ipv4_interfaces()
    ]
    return list(dict.fromkeys(targets))

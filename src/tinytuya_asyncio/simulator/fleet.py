"""Many simulated devices in one process, with generated identities and a devices file."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import random
import string
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Final, Literal

from tinytuya_asyncio.protocol import SUPPORTED_VERSIONS, version_spec
from tinytuya_asyncio.simulator.device import DEFAULT_HOST, SimulatedDevice, SimulatedGateway
from tinytuya_asyncio.simulator.discovery import Discovery, DiscoveryConfig
from tinytuya_asyncio.simulator.profiles import profile_dps
from tinytuya_asyncio.simulator.state import DEVICE22_VERSIONS

AddressMode = Literal["ports", "ips"]
ALL_VERSIONS: Final = tuple(spec.text for spec in SUPPORTED_VERSIONS)
_ID_ALPHABET: Final = string.ascii_lowercase + string.digits
_KEY_ALPHABET: Final = string.ascii_letters + string.digits + "!#$%&()*+,-./:;<=>?@[]^_{|}~"
_HEX: Final = "0123456789abcdef"
_STOP_BATCH: Final = 100
#: Ids of real devices are 20 characters; device22 firmware has 22-character ids.
_ID_LEN: Final = 20
_ID_LEN_DEVICE22: Final = 22


def parse_versions(versions: str | Sequence[str | float]) -> list[str]:
    """``"mixed"`` (every version), ``"3.3,3.5"`` or ``["3.3", 3.5]`` as version strings."""
    if isinstance(versions, str):
        if versions.strip().lower() == "mixed":
            return list(ALL_VERSIONS)
        versions = [v for v in versions.split(",") if v.strip()]
    parsed = [version_spec(v).text for v in versions]
    if not parsed:
        raise ValueError("no protocol version given")
    return parsed


def loopback_addresses(first: str, count: int) -> list[str]:
    """``count`` consecutive 127.x.y.z addresses from ``first``, skipping .0 and .255."""
    start = ipaddress.IPv4Address(first)
    network = ipaddress.IPv4Network("127.0.0.0/8")
    if start not in network:
        raise ValueError(f"{first} is not a 127.x.y.z loopback address")
    addresses: list[str] = []
    current = int(start)
    while len(addresses) < count:
        address = ipaddress.IPv4Address(current)
        if address not in network:
            raise ValueError(f"not enough loopback addresses after {first} for {count} devices")
        if current & 0xFF not in (0, 0xFF):
            addresses.append(str(address))
        current += 1
    return addresses


class Simulator:
    """A fleet of simulated devices sharing one event loop (no thread per device).

    Generated ids and keys are deterministic for a given ``seed``. ``async with`` closes
    every device (and discovery) on exit.
    """

    def __init__(self, *, seed: int = 0) -> None:
        self._rng = random.Random(seed)
        self.devices: list[SimulatedDevice] = []
        self.discovery: Discovery | None = None

    async def __aenter__(self) -> Simulator:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def __len__(self) -> int:
        return len(self.devices)

    def __iter__(self) -> Iterator[SimulatedDevice]:
        return iter(self.devices)

    def __getitem__(self, dev_id: str) -> SimulatedDevice:
        for device in self.devices:
            if device.dev_id == dev_id:
                return device
        raise KeyError(dev_id)

    # -- building --------------------------------------------------------------------------

    def _token(self, alphabet: str, length: int) -> str:
        return "".join(self._rng.choices(alphabet, k=length))

    def generate(
        self, version: str | float, *, device22: bool = False, profile: str = "plug", **kwargs: Any
    ) -> SimulatedDevice:
        """A new device (not started) with a generated id and key, and the data points of
        ``profile`` (see :mod:`.profiles`: ``plug``, ``dimmer``, ``bulb_a``, ``cover_1``...)."""
        index = len(self.devices) + 1
        spec = version_spec(version)
        dev_id = "sim" + self._token(_ID_ALPHABET, (_ID_LEN_DEVICE22 if device22 else _ID_LEN) - 3)
        dps = profile_dps(profile)
        if profile == "plug":
            dps["20"] = self._rng.randint(2200, 2400)  # voltages differ from plug to plug
        kwargs.setdefault("dps", dps)
        kwargs.setdefault("name", f"sim-{index:04d}-v{spec.text}")
        kwargs.setdefault("product_key", "key" + self._token(_ID_ALPHABET, 13))
        return SimulatedDevice(
            dev_id, self._token(_KEY_ALPHABET, 16), version=spec.text, device22=device22, **kwargs
        )

    async def add(
        self, device: SimulatedDevice, *, host: str = DEFAULT_HOST, port: int = 0
    ) -> SimulatedDevice:
        """Start ``device`` on ``host:port`` and keep it in the fleet (and in discovery)."""
        await device.start(host, port)
        self.devices.append(device)
        if self.discovery is not None:
            await self.discovery.refresh()
        return device

    async def move(self, device: SimulatedDevice, host: str, port: int | None = None) -> None:
        """Restart ``device`` at a new address, as a device given a new IP by DHCP.

        Its clients are disconnected; its announcements then leave from ``host``.
        """
        await device.stop()
        await device.start(host, port if port is not None else device.port)
        if self.discovery is not None:
            await self.discovery.refresh()

    async def add_many(
        self,
        count: int,
        *,
        versions: str | Sequence[str | float] = "mixed",
        device22_share: float = 0.0,
        device22_count: int | None = None,
        host: str = DEFAULT_HOST,
        port: int = 0,
        address_mode: AddressMode = "ports",
        profiles: str | Sequence[str] = "plug",
        **kwargs: Any,
    ) -> list[SimulatedDevice]:
        """Start ``count`` generated devices, versions (and ``profiles``) taken round-robin.

        device22 mode goes to ``device22_count`` (or ``device22_share`` of) the 3.3/3.4
        devices; 3.2 devices always have it. ``address_mode="ports"``: every device on
        ``host``, on consecutive ports from ``port`` (0: a free port each).
        ``address_mode="ips"``: consecutive 127.x.y.z addresses from ``host``, all on ``port``.
        Other keyword arguments go to every :class:`SimulatedDevice`.
        """
        kinds = [profiles] if isinstance(profiles, str) else list(profiles)
        if not kinds:
            raise ValueError("no profile given")
        chosen = parse_versions(versions)
        plan = [chosen[i % len(chosen)] for i in range(count)]
        eligible = [i for i, v in enumerate(plan) if v in DEVICE22_VERSIONS and v != "3.2"]
        wanted = device22_count if device22_count is not None else round(device22_share * len(eligible))
        device22 = set(self._rng.sample(eligible, min(max(wanted, 0), len(eligible))))
        if address_mode == "ips":
            addresses = [(ip, port) for ip in loopback_addresses(host, count)]
        elif address_mode == "ports":
            addresses = [(host, port + i if port else 0) for i in range(count)]
        else:
            raise ValueError(f"unknown address mode {address_mode!r}")
        started: list[SimulatedDevice] = []
        for i, version in enumerate(plan):
            device = self.generate(version, device22=i in device22, profile=kinds[i % len(kinds)], **kwargs)
            started.append(await self.add(device, host=addresses[i][0], port=addresses[i][1]))
        return started

    async def add_gateway(
        self,
        *,
        children: int = 2,
        version: str | float = "3.4",
        host: str = DEFAULT_HOST,
        port: int = 0,
        profiles: str | Sequence[str] | None = None,
        **kwargs: Any,
    ) -> SimulatedGateway:
        """Start a generated gateway with ``children`` sub-devices.

        They are switch-like (DP 1 only), or take the data points of ``profiles`` round-robin
        (a Zigbee hub with plugs, bulbs and covers: ``profiles=["plug", "bulb_a", "cover_1"]``).
        """
        if children < 1:
            raise ValueError("a gateway needs at least one child")
        kinds = [profiles] if isinstance(profiles, str) else list(profiles or ())
        if profiles is not None and not kinds:
            raise ValueError("no profile given")
        index = len(self.devices) + 1
        spec = version_spec(version)
        cids = {
            self._token(_HEX, 16): profile_dps(kinds[n % len(kinds)]) if kinds else {"1": False}
            for n in range(children)
        }
        kwargs.setdefault("name", f"sim-{index:04d}-gateway-v{spec.text}")
        gateway = SimulatedGateway(
            "sim" + self._token(_ID_ALPHABET, _ID_LEN - 3),
            self._token(_KEY_ALPHABET, 16),
            version=spec.text,
            children=cids,
            **kwargs,
        )
        await self.add(gateway, host=host, port=port)
        return gateway

    # -- discovery -------------------------------------------------------------------------

    async def start_discovery(self, config: DiscoveryConfig | None = None) -> Discovery:
        """Announce the fleet over UDP on loopback and answer 3.5 probes (see :mod:`.discovery`)."""
        if self.discovery is not None:
            raise RuntimeError("discovery is already running")
        discovery = Discovery(lambda: self.devices, config or DiscoveryConfig())
        await discovery.start()
        self.discovery = discovery
        return discovery

    # -- devices file ----------------------------------------------------------------------

    def devices_file_entries(self) -> list[dict[str, Any]]:
        """The fleet in tinytuya's devices.json format, plus ``port``; children follow their gateway."""
        entries: list[dict[str, Any]] = []
        for device in self.devices:
            entries.append(
                {
                    "id": device.dev_id,
                    "name": device.name,
                    "key": device.local_key,
                    "ip": device.host,
                    "version": device.version,
                    "port": device.port,
                    "product_id": device.product_key,
                }
            )
            for n, cid in enumerate(device.state.children, start=1):
                entries.append(
                    {
                        "id": cid,
                        "name": f"{device.name} child {n}",
                        "key": "",
                        "ip": "",
                        "version": device.version,
                        "node_id": cid,
                        "parent": device.dev_id,
                        "sub": True,
                    }
                )
        return entries

    def write_devices_file(self, path: str | Path) -> None:
        """Write :meth:`devices_file_entries` as JSON (the file holds local keys)."""
        Path(path).write_text(json.dumps(self.devices_file_entries(), indent=4) + "\n", encoding="utf-8")

    # -- lifecycle -------------------------------------------------------------------------

    async def close(self) -> None:
        """Stop discovery and every device; idempotent."""
        discovery, self.discovery = self.discovery, None
        if discovery is not None:
            await discovery.stop()
        for n, device in enumerate(self.devices, start=1):
            await device.stop()
            if n % _STOP_BATCH == 0:
                # Stopping an idle device never suspends; let the loop breathe in between.
                await asyncio.sleep(0)

"""The public surface is deliberate: these names, and nothing abstract behind them."""

from __future__ import annotations

import inspect
import subprocess
import sys
from typing import TYPE_CHECKING

import tinytuya

import tinytuya_asyncio

EXPECTED = {
    "DEFAULT_CONNECT_LIMIT",
    "Backoff",
    "BulbDeviceAsync",
    "ConnectError",
    "ConnectionClosedError",
    "ConnectionState",
    "CounterSink",
    "Counters",
    "CoverDeviceAsync",
    "DatagramError",
    "DeviceAsync",
    "DeviceBusyError",
    "DeviceNotFoundError",
    "DeviceOfflineError",
    "DeviceUpdate",
    "DisconnectReason",
    "DiscoveredDevice",
    "Fleet",
    "FrameError",
    "HandshakeError",
    "HandshakeTimeoutError",
    "IntegrityError",
    "InvalidKeyError",
    "LocalProtocolError",
    "MetricsSink",
    "NullSink",
    "OutletDeviceAsync",
    "RemoteProtocolError",
    "Scanner",
    "StateChange",
    "TuyaError",
    "TuyaTimeoutError",
    "UpdateStream",
    "XenonDeviceAsync",
    "__version__",
    "resolve_address",
    "scan_network",
    "set_connect_limit",
    "set_default_sink",
}

if TYPE_CHECKING:
    # mypy checks that the device classes are concrete and take tinytuya's arguments.
    _xenon = tinytuya_asyncio.XenonDeviceAsync("id", "127.0.0.1", "0123456789abcdef", "default", 5, 3.3, True)
    _device = tinytuya_asyncio.DeviceAsync("id", "127.0.0.1", "0123456789abcdef", version=3.5, persist=True)
    _outlet = tinytuya_asyncio.OutletDeviceAsync("id", "127.0.0.1", "0123456789abcdef", version=3.3)
    _bulb = tinytuya_asyncio.BulbDeviceAsync("id", "127.0.0.1", "0123456789abcdef", "default", 5, 3.4)
    _cover = tinytuya_asyncio.CoverDeviceAsync("id", cid="c1", parent=_device)


def test_exports_are_pinned() -> None:
    assert set(tinytuya_asyncio.__all__) == EXPECTED
    for name in EXPECTED:
        assert hasattr(tinytuya_asyncio, name), name


def test_every_error_has_one_root_and_a_tinytuya_code() -> None:
    codes = {tinytuya.ERR_CONNECT, tinytuya.ERR_TIMEOUT, tinytuya.ERR_PAYLOAD, tinytuya.ERR_OFFLINE}
    codes |= {tinytuya.ERR_KEY_OR_VER, tinytuya.ERR_PARAMS}
    for name in EXPECTED:
        value = getattr(tinytuya_asyncio, name)
        if inspect.isclass(value) and issubclass(value, Exception):
            assert issubclass(value, tinytuya_asyncio.TuyaError), name
            assert value.err_code in codes, name
    assert issubclass(tinytuya_asyncio.TuyaTimeoutError, TimeoutError)
    assert issubclass(tinytuya_asyncio.HandshakeTimeoutError, TimeoutError)


def test_constructor_mirrors_tinytuya() -> None:
    """Same positional parameters, names and defaults as tinytuya's XenonDevice."""
    ours = inspect.signature(tinytuya_asyncio.XenonDeviceAsync.__init__).parameters
    theirs = inspect.signature(tinytuya.XenonDevice.__init__).parameters
    positional = [p for p in ours.values() if p.kind is p.POSITIONAL_OR_KEYWORD]
    assert [p.name for p in positional] == list(theirs)
    for param in positional:
        if param.name not in ("self", "local_key"):
            assert param.default == theirs[param.name].default, param.name


def test_method_names_mirror_tinytuya() -> None:
    awaitable = {
        "status", "cached_status", "set_status", "set_value", "set_multiple_values", "turn_on", "turn_off",
        "heartbeat", "updatedps", "set_timer", "detect_available_dps", "product", "receive", "send", "close",
        "subdev_query",
    }  # fmt: skip
    plain = {
        "generate_payload", "set_version", "set_socketPersistent", "set_socketRetryLimit",
        "set_socketRetryDelay", "set_socketTimeout", "set_retry", "set_sendWait", "set_dpsUsed",
        "add_dps_to_request", "cache_clear", "set_socketNODELAY",
    }  # fmt: skip
    for name in awaitable | plain:
        assert hasattr(tinytuya.Device, name), f"tinytuya.Device has no {name}"
        method = getattr(tinytuya_asyncio.DeviceAsync, name)
        assert inspect.iscoroutinefunction(method) is (name in awaitable), name
        ours = list(inspect.signature(method).parameters)
        theirs = list(inspect.signature(getattr(tinytuya.Device, name)).parameters)
        assert ours == theirs, name


#: Methods of tinytuya's device classes that do no I/O, and so are plain methods here too.
_PLAIN_BY_CLASS = {
    "BulbDevice": {"set_bulb_type", "set_bulb_capabilities"},
    "CoverDevice": {"set_cover_type"},
}


def _public_methods(cls: type) -> set[str]:
    return {n for n, v in vars(cls).items() if callable(v) and not n.startswith("_")}


def test_every_method_of_the_device_classes_is_there_with_the_same_parameters() -> None:
    """Each public method tinytuya's Outlet/Bulb/CoverDevice defines, with its parameters.

    Everything that may touch the network is a coroutine; tinytuya's static converters and
    the setters stay plain.
    """
    pairs = [
        (tinytuya.OutletDevice, tinytuya_asyncio.OutletDeviceAsync),
        (tinytuya.BulbDevice, tinytuya_asyncio.BulbDeviceAsync),
        (tinytuya.CoverDevice, tinytuya_asyncio.CoverDeviceAsync),
    ]
    for theirs_cls, ours_cls in pairs:
        plain = _PLAIN_BY_CLASS.get(theirs_cls.__name__, set())
        for name in _public_methods(theirs_cls):
            assert hasattr(ours_cls, name), f"{ours_cls.__name__} has no {name}"
            theirs = inspect.getattr_static(theirs_cls, name)
            ours = inspect.getattr_static(ours_cls, name)
            assert isinstance(ours, staticmethod) is isinstance(theirs, staticmethod), name
            method = getattr(ours_cls, name)
            if not isinstance(theirs, staticmethod):
                assert inspect.iscoroutinefunction(method) is (name not in plain), name
            assert list(inspect.signature(method).parameters) == list(
                inspect.signature(getattr(theirs_cls, name)).parameters
            ), name


def test_the_library_does_not_need_the_cli_extra() -> None:
    code = "import sys, tinytuya_asyncio, tinytuya_asyncio.scanner; assert 'rich' not in sys.modules"
    assert subprocess.run([sys.executable, "-c", code], check=False, timeout=60).returncode == 0

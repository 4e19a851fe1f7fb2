"""What every `ducha` subcommand shares: the settings `ducha run` uses (NATS port or URL, data
folder, database URL) and one-line errors for expected failures (exit status 2).

Settings, in order of precedence:

- NATS: `--nats URL`, else `$DUCHA_NATS_URL`, else `nats://127.0.0.1:$DUCHA_NATS_PORT` (default
  4322, the port `ducha run` starts nats-server on);
- data folder: `--data-dir`, else `$DUCHA_DATA_DIR`, else `./data`;
- database: `$DUCHA_<SERVICE>_DATABASE_URL`, else `$DUCHA_DATABASE_URL`, else the service's SQLite
  file in the data folder (`ServiceSettings`, exactly as the services read it).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

from .clisettings import cli_settings, service_nats_url_set

DEFAULT_NATS_PORT = 4322  # not 4222: Debian's own nats-server often sits there
CONNECT_TIMEOUT_SECONDS = 3.0


class CliError(Exception):
    """An expected failure: printed as one line `error: ...` (saying what to do), exit status 2."""


class OneLineParser(argparse.ArgumentParser):
    """Bad arguments give one line naming the fix, not the usage block."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"error: {message} (see `{self.prog} --help`)\n")
        raise SystemExit(2)


def nats_port() -> int:
    raw = cli_settings().nats_port or str(DEFAULT_NATS_PORT)
    try:
        port = int(raw)
    except ValueError:
        raise CliError(f"DUCHA_NATS_PORT={raw!r} is not a port number: set it to e.g. {DEFAULT_NATS_PORT}") from None
    if not 0 < port < 65536:
        raise CliError(f"DUCHA_NATS_PORT={port} is out of range: set it to a port between 1 and 65535")
    return port


def nats_url(args: argparse.Namespace) -> str:
    explicit = getattr(args, "nats", None) or cli_settings().nats_url
    return str(explicit) if explicit else f"nats://127.0.0.1:{nats_port()}"


def data_dir(args: argparse.Namespace) -> Path:
    return Path(getattr(args, "data_dir", None) or cli_settings().data_dir or "data").resolve()


def service_settings(args: argparse.Namespace, service: str, default_port: int) -> Any:
    """A service's settings as the service itself reads them, with the CLI's NATS URL and data
    folder unless the service-specific variables say otherwise."""
    from .kernel.config import ServiceSettings

    overrides: dict[str, object] = {"data_dir": data_dir(args)}
    if not service_nats_url_set(service):
        overrides["nats_url"] = nats_url(args)
    return ServiceSettings.for_service(service, default_port, **overrides)


async def connect(url: str) -> Any:
    """A NATS connection, or a `CliError` saying where the server was expected."""
    import nats
    from nats.errors import NoServersError

    async def quiet(_exc: Exception) -> None:
        """nats-py prints every failed attempt with a traceback; the one-line error says it all."""

    try:
        return await nats.connect(
            url.split(",") if "," in url else url,
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
            max_reconnect_attempts=1,  # 0 would mean "forever" while selecting the first server
            reconnect_time_wait=0.5,
            error_cb=quiet,
        )
    except (NoServersError, OSError, TimeoutError) as exc:
        raise unreachable(url) from exc


def unreachable(url: str) -> CliError:
    return CliError(
        f"cannot reach NATS at {url}: start Ducha (`./dev.sh up`) or point this command at it "
        f"with --nats URL, DUCHA_NATS_URL or DUCHA_NATS_PORT"
    )


def run_command(func: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """Run a subcommand; expected failures become one line on stderr and exit status 2."""
    from nats.errors import NoServersError
    from nats.js.errors import NotFoundError

    from .kernel.config import ConfigError

    try:
        return int(func(args))
    except CliError as exc:
        message = str(exc)
    except ConfigError as exc:  # one line per wrong setting already
        message = " ".join(str(exc.code).split("\n"))
    except FileNotFoundError as exc:
        message = f"file not found: {exc.filename}: check the path"
    except IsADirectoryError as exc:
        message = f"{exc.filename} is a folder: give a file name"
    except PermissionError as exc:
        message = f"no permission to use {exc.filename}: choose another path or fix its permissions"
    except NoServersError:
        message = str(unreachable(nats_url(args)))
    except ConnectionRefusedError:
        message = str(unreachable(nats_url(args)))
    except NotFoundError as exc:
        message = (f"not found on the NATS server at {nats_url(args)} ({exc.description or exc}): is this the "
                   f"Ducha system you meant? Check --nats / DUCHA_NATS_PORT and --stream")
    except ValueError as exc:
        message = str(exc)
    print(f"error: {message}", file=sys.stderr)
    return 2

"""PostgreSQL LISTEN: wake this instance's outbox when any instance queued deliveries."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import psycopg

from monitor.db.engine import pg_conninfo
from monitor.db.store import DELIVERY_CHANNEL

log = logging.getLogger(__name__)

RECONNECT_SECONDS = 5.0


async def listen_for_deliveries(
    url: str, on_notify: Callable[[], None], stopping: asyncio.Event
) -> None:
    """Call ``on_notify`` for every NOTIFY on the delivery channel until ``stopping``. A lost
    connection is re-opened; meanwhile the delivery tick still sends everything."""
    failed = 0  # connections failed in a row
    while not stopping.is_set():
        try:
            async with await psycopg.AsyncConnection.connect(
                pg_conninfo(url), autocommit=True
            ) as conn:
                await conn.execute(f"LISTEN {DELIVERY_CHANNEL}")
                if failed:
                    log.info("listening for queued alerts works again")
                    failed = 0
                # Something may have been queued before LISTEN took effect.
                on_notify()
                gen = conn.notifies()
                stop = asyncio.ensure_future(stopping.wait())
                try:
                    while not stopping.is_set():
                        nxt = asyncio.ensure_future(anext(gen))
                        done, _ = await asyncio.wait(
                            {nxt, stop}, return_when=asyncio.FIRST_COMPLETED
                        )
                        if nxt not in done:
                            nxt.cancel()
                            await asyncio.gather(nxt, return_exceptions=True)
                            break
                        nxt.result()
                        on_notify()
                finally:
                    stop.cancel()
                    await asyncio.gather(stop, return_exceptions=True)
                    await gen.aclose()
        except (psycopg.Error, OSError) as error:
            # One line at the 1st, 2nd, 4th, 8th ... failure in a row: an outage of minutes
            # logged a few lines every 5 s (an outside probe, probe71).
            failed += 1
            if failed & (failed - 1) == 0:
                log.warning(
                    "listening for queued alerts failed (%s)%s; retrying every %g s",
                    " ".join(str(error).split())[:200],
                    f" ({failed} in a row)" if failed > 1 else "",
                    RECONNECT_SECONDS,
                )
            try:
                await asyncio.wait_for(stopping.wait(), RECONNECT_SECONDS)
            except TimeoutError:
                pass

"""Exit 0 once a Kafka broker answers a metadata request at the given address, 1 otherwise.
The connection's security (SASL, TLS) comes from the CRMSTREAM_KAFKA_* settings."""

import asyncio
import sys

from aiokafka.admin import AIOKafkaAdminClient

from crmstream.kafka import client_options
from crmstream.settings import Settings


async def main(bootstrap: str) -> int:
    options = client_options(Settings(kafka_bootstrap_servers=bootstrap))
    admin = AIOKafkaAdminClient(**options, request_timeout_ms=3000)
    try:
        await admin.start()
        await admin.list_topics()
        return 0
    except Exception:  # any failure means "not ready yet"
        return 1
    finally:
        await admin.close()


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:9092")))

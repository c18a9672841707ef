"""``python -m stream.kafka_local``: run a local Kafka broker until SIGINT/SIGTERM.

Prints ``STREAM_KAFKA_BOOTSTRAP=127.0.0.1:PORT`` once the broker is ready; ``--help``
lists the options.
"""

import sys

from stream.kafka_local._cli import run

if __name__ == "__main__":
    sys.exit(run())

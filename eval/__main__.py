"""``python -m eval [options]``: quality report; ``python -m eval speed``: speed bench;
``python -m eval fit-reader``: fit the reader's answer calibration on held-out DRCD and the
bundled set; ``python -m eval fit-heuristic``: the heuristic answerer's weights, on the same."""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    """Bad input to any command is one ``error:`` line and exit status 2
    (`eval.questions.errors_reported`)."""
    from eval.questions import errors_reported

    if argv[:1] == ["speed"]:
        from eval.bench_speed import main as speed_main

        return errors_reported(lambda: speed_main(argv[1:]))
    if argv[:1] == ["fit-heuristic"]:
        from eval.fit_heuristic import main as fit_heuristic_main

        return errors_reported(lambda: fit_heuristic_main(argv[1:]))
    if argv[:1] == ["fit-reader"]:
        from eval.fit_reader import main as fit_main

        return errors_reported(lambda: fit_main(argv[1:]))
    from eval.runner import main as runner_main

    return runner_main(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""`make bench`: livegate's performance figures, each next to a same-run baseline (never run by pytest).

One run measures text-turn latency (gateway vs direct to the emulator), gateway CPU per turn, memory per
open session, start-up time, and gateway CPU per relayed audio event (vs an untranslated relay).
Everything runs on 127.0.0.1 in subprocesses; see `python -m bench --help`.
"""

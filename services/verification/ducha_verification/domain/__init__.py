"""Pure domain code of verification: state rebuilt from events and decide functions. No I/O, no
clock reads: `now`/`today` and the facts learnt from other contexts come in as arguments."""

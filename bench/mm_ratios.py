#!/usr/bin/env python3
"""bench/mm_ratios.py - the issue's ratios from one mm_bench JSON file.

    build/mm-rel/bench/mm_bench --benchmark_min_time=0.2 --benchmark_repetitions=9 \
        --benchmark_enable_random_interleaving=true --benchmark_report_aggregates_only=true \
        --benchmark_out=mm_bench.json --benchmark_out_format=json
    python3 bench/mm_ratios.py mm_bench.json

Medians of the repetitions, faulter CPU time (real time where noted).
Interleaved repetitions spread the machine's drift over every benchmark;
without them, figures measured tens of seconds apart disagree by 30 %.
"""
import json
import sys

F = 'BM_Fault/%s/real_time/threads:1'


def medians(path):
    """Medians when the run repeated, else the single runs (bench-smoke)."""
    d = json.load(open(path))
    ok = [x for x in d['benchmarks'] if not x.get('error_occurred')]
    for x in d['benchmarks']:
        if x.get('error_occurred'):
            sys.exit('%s: %s failed: %s' % (path, x['name'], x.get('error_message')))
    b = {x['run_name']: x for x in ok if x.get('aggregate_name') == 'median'}
    if not b:
        print('(single runs, no medians: a smoke run checks names, not numbers)')
        b = {x['run_name']: x for x in ok if x.get('run_type') == 'iteration'}
    return d, b


def report(path):
    d, b = medians(path)
    cpu = lambda n: b[n]['cpu_time']
    floor, pt = cpu('BM_ZeroPage'), cpu(F % 'lockfree_read')
    lf, lk = cpu(F % 'lockfree'), cpu(F % 'locked')
    churn, other = cpu(F % 'lockfree_churn'), cpu(F % 'lockfree_churn_othermm')
    spin = cpu(F % 'lockfree_spin') if F % 'lockfree_spin' in b else float('nan')
    lk_churn_wall = b[F % 'locked_churn']['real_time']
    lf_churn_wall = b[F % 'lockfree_churn']['real_time']
    print('%s (load %s)' % (path, d['context'].get('load_avg')))
    print('  fault %.0f ns / (floor %.0f + page-table work %.0f) = %.2fx   (target <= 1.5)'
          % (lf, floor, pt, lf / (floor + pt)))
    print('  locked %.0f ns: lock-free %.2fx faster (read faults %.2fx)   (target >= 1)'
          % (lk, lk / lf, cpu(F % 'locked_read') / pt))
    print('  with churner %.0f ns: %.2fx of alone   (target >= 0.9); controls: churner on its '
          'own mm %.2fx, register spinner %.2fx; churner/spinner %.2fx'
          % (churn, lf / churn, lf / other, lf / spin, spin / churn))
    print('  locked with churner %.0f ns wall: lock-free %.0fx faster   (target >= 2)'
          % (lk_churn_wall, lk_churn_wall / lf_churn_wall))
    print('  churner mmap+munmap pairs/s: %.0fk; dontneed_ns per fault %.0f'
          % (b[F % 'lockfree_churn'].get('churn_ops', 0) / 1e3, b[F % 'lockfree']['dontneed_ns']))


for p in sys.argv[1:]:
    report(p)

#!/usr/bin/env python3
"""bench/mt_ratios.py - the range-tree issue's ratios from one mt_bench JSON.

    build/mm-rel/bench/mt_bench --benchmark_filter='/100000' --benchmark_min_time=0.2 \
        --benchmark_repetitions=9 --benchmark_enable_random_interleaving=true \
        --benchmark_report_aggregates_only=true --benchmark_format=json > mt_bench.json
    python3 bench/mt_ratios.py mt_bench.json

Medians when the run repeated, else the single runs (bench-smoke); sizes
that the run filtered out are skipped. docs/bench-tree.md has the results.
"""
import json, sys
d = json.load(open(sys.argv[1]))
b = {}
for x in d['benchmarks']:  # medians when repeated, else the single run
    if x.get('run_type') == 'aggregate' and x.get('aggregate_name') == 'median':
        b[x['run_name']] = x
    elif x.get('run_type', 'iteration') == 'iteration' and x.get('repetitions', 1) <= 1:
        b[x['name']] = x
def g(name, key='cpu_time'):
    return b[name][key]
print('context: %s, %d CPUs, load avg %s' % (d['context']['date'], d['context']['num_cpus'],
      d['context'].get('load_avg')))
print('%-8s %-28s %10s %10s %8s' % ('N', 'what', 'mt', 'rb', 'ratio'))
for n in (16, 1000, 100000):
    if 'BM_Lookup<Mt>/%d' % n not in b:  # filtered out of this run
        continue
    lm, lr = g('BM_Lookup<Mt>/%d' % n), g('BM_Lookup<Rb>/%d' % n)
    print('%-8d %-28s %8.1fns %8.1fns %7.2fx  (rb/mt, target >= 1.5 at 100000)' % (n, 'lookup cpu/op', lm, lr, lr / lm))
    cm, cr = g('BM_Churn<Mt>/%d' % n), g('BM_Churn<Rb>/%d' % n)
    print('%-8d %-28s %8.1fns %8.1fns %7.2fx  (mt/rb, target <= 2)' % (n, 'insert+erase cpu/pair', cm, cr, cm / cr))
    cx = b['BM_Churn<Mt>/%d' % n]
    if 'in_place' in cx:
        print('%-8d %-28s %.0f%% in place, %.0f%% copy a leaf, %.0f%% copy a subtree' % (
              n, 'mt stores of that churn', 100 * cx['in_place'], 100 * cx['leaf_copy'],
              100 * cx['subtree_copy']))
    gm, gr = g('BM_Gap<Mt>/%d' % n), g('BM_Gap<Rb>/%d' % n)
    print('%-8d %-28s %8.1fns %8.1fns %7.2fx  (rb/mt)' % (n, 'gap search cpu/op', gm, gr, gr / gm))
    for impl in ('Mt', 'Rb'):
        if 'BM_Readers<%s>/%d/1' % (impl, n) not in b:
            continue
        r0, r1 = b['BM_Readers<%s>/%d/0' % (impl, n)], b['BM_Readers<%s>/%d/1' % (impl, n)]
        extra = ''
        p2 = b.get('BM_Readers<%s>/%d/2' % (impl, n))
        if p2:
            extra = '; paced writer: %.2fx CPU, %.2fx wall at %.0fk writes/s' % (
                p2['items_per_second'] / r0['items_per_second'],
                p2['lookups_per_wall_sec'] / r0['lookups_per_wall_sec'], p2['writes_per_wall_sec'] / 1e3)
        print('%-8d %-28s %9.2fM %9.2fM %7.2fx  (with/without writer, reader CPU time; %.2fx per wall second; writer %.0fk writes/s%s)' % (
            n, 'readers ' + impl, r1['items_per_second'] / 1e6, r0['items_per_second'] / 1e6,
            r1['items_per_second'] / r0['items_per_second'],
            r1['lookups_per_wall_sec'] / r0['lookups_per_wall_sec'], r1['writes_per_wall_sec'] / 1e3, extra))
for impl in ('Mt', 'Rb'):  # writer on/off in alternate 10 ms windows
    for n in (16, 1000, 100000):
        pr = b.get('BM_ReadersPaired<%s>/%d' % (impl, n))
        if not pr:
            continue
        if pr['on_off'] == 0:
            print('%-8d readers %s, writer on/off every 10 ms: run too short' % (n, impl))
            continue
        print('%-8d readers %s, writer on/off every 10 ms: %.2fx  (with/without writer from '
              'neighbouring windows, reader CPU time; %.0f windows; target >= 0.9 for Mt)' % (
                  n, impl, pr['on_off'], pr['windows']))
spin = b.get('BM_Readers<Mt>/100000/3')
if spin:  # the control: a neighbour spinning on registers, sharing nothing
    r0, r1 = b['BM_Readers<Mt>/100000/0'], b['BM_Readers<Mt>/100000/1']
    print('100000   readers Mt beside a spinner: %.2fx of alone; with the writer %.2fx of that' % (
          spin['items_per_second'] / r0['items_per_second'],
          r1['items_per_second'] / spin['items_per_second']))
own = b.get('BM_Readers<Mt>/100000/4')
if own:  # the control: the same writer on a tree of its own
    r0, r1 = b['BM_Readers<Mt>/100000/0'], b['BM_Readers<Mt>/100000/1']
    print('100000   readers Mt beside the writer on its own tree: %.2fx of alone (writer %.0fk writes/s); '
          'sharing the tree costs %.2fx of that' % (
              own['items_per_second'] / r0['items_per_second'], own['writes_per_wall_sec'] / 1e3,
              r1['items_per_second'] / own['items_per_second']))
inplace = b.get('BM_Readers<Mt>/100000/5')
if inplace:  # the same writer storing values in place: no node copied
    print('100000   readers Mt beside a writer of value-only (in-place) stores: %.2fx of alone '
          '(writer %.0fk writes/s)' % (
              inplace['items_per_second'] / b['BM_Readers<Mt>/100000/0']['items_per_second'],
              inplace['writes_per_wall_sec'] / 1e3))
copying = b.get('BM_Readers<Mt>/100000/6')
if copying:  # stores that are never exact: each copies a leaf, writes its parent
    print('100000   readers Mt beside a writer whose stores each copy a leaf: %.2fx of alone '
          '(writer %.0fk writes/s)' % (
              copying['items_per_second'] / b['BM_Readers<Mt>/100000/0']['items_per_second'],
              copying['writes_per_wall_sec'] / 1e3))
if 'BM_Lookup<Mt>/100000' in b:
    print('bytes/range at 100000: mt %.1f, rb %.1f' % (g('BM_Lookup<Mt>/100000', 'bytes_per_range'),
          g('BM_Lookup<Rb>/100000', 'bytes_per_range')))
if 'BM_EnvAllocNode' in b:
    print('allocator per node: env_alloc(256)+env_free %.1fns, malloc(72)+free %.1fns' % (
          g('BM_EnvAllocNode'), g('BM_MallocRbNode')))

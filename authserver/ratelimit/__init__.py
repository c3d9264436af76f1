"""Rate limits per client tier and per endpoint group (issue 14 item 4, API-4).

Sliding-window counters from the maintained ``limits`` library, kept in the store's
Redis when there is one (every process shares one window) and in memory otherwise.
"""

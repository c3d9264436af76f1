"""Domestic payments: the ``PaymentProvider`` a bank plugs its payment rail into, and the
SQL implementation that records payments and debits the demo accounts."""

"""An online grocery delivery service's support agent: order status and delivery slots (changes
until 8 pm the evening before), missing or damaged items (a refund to the card or as credit, up
to $15 without a photo, a person above), cancelling before picking, substitutions, the delivery
pass, promo codes, and a small FAQ. Written for a second blind first run (issue 15), from the
user docs only.
"""

from .backend import demo_state

__all__ = ["demo_state"]

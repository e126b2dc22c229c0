"""Building blocks of the stage flows: named operations on one case inside one transaction."""

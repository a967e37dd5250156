"""A minimal Django shop whose checkout sends a PURCHASE to Snap in the background."""

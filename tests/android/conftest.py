from tests.android.fake_amapi import fake_amapi

__all__ = ["fake_amapi"]

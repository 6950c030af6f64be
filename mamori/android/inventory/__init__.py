"""The device inventory (Android Enterprise 2 of 3, points 1, 2, 7 and 8): the Devices list,
a device's page, moving, annotating and removing a device, their API and CSV export.

Devices are created and updated by the notification worker; commands by the commands slice.
This package only reads them (``selectors``) and makes the person's own changes (``services``).
"""

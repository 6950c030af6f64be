#!/usr/bin/env python3
from mamori.cli import main

if __name__ == "__main__":
    main()

from inspect_tui.cli import main

raise SystemExit(main())

from pip_tfmac.cli import main

raise SystemExit(main())

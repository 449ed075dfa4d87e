from qa_station.cli import main

raise SystemExit(main())

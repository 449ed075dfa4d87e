from benchmarks.real_frames.run import main

raise SystemExit(main())

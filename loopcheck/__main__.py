from loopcheck.entry import main

main()

from loopcheck.frontends.entry import main

main()

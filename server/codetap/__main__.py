from codetap.cli import main

main()

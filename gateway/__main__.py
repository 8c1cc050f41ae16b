from gateway.supervisor import main

if __name__ == "__main__":
    main()

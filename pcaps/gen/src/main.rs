fn main() {
    eprintln!("centinela-pcapgen: under construction");
    std::process::exit(2);
}

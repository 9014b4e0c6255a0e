fn main() {
    eprintln!("centinela-collector: under construction");
    std::process::exit(2);
}

fn main() {
    let p = std::env::args().nth(1).unwrap();
    match bpfemu_scenario::Scenario::from_file(std::path::Path::new(&p)) {
        Ok(s) => print!("{}", s.run(&Default::default()).text),
        Err(d) => println!("{d}"),
    }
}
